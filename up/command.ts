import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { pino } from 'pino';
import { z } from 'zod';
import { addAgentOptions, agentOptions } from '../agent/start.js';
import { childProcesses, killChildren } from '../src/children.js';
import { domain as domainSchema, parseHostPort } from '../src/grammar.js';
import { createLogger, type LogLevel } from '../src/log.js';
import { addCommonOptions, commonOptions, option, parseOrThrow, resolveOptions } from '../src/options.js';
import { onShutdown } from '../src/shutdown.js';
import { type Output, stdoutOutput } from './progress.js';
import { ShutdownRequested, StopStack } from './stop-stack.js';
import { up } from './up.js';

const upSchema = z.object({
  domain: domainSchema,
  http: z.string().refine((v) => parseHostPort(v) !== undefined, { message: 'must be HOST:PORT' }),
  https: z.string().refine((v) => parseHostPort(v) !== undefined, { message: 'must be HOST:PORT' }),
  agentListen: z.string().refine((v) => parseHostPort(v) !== undefined, { message: 'must be HOST:PORT' }),
  dataDir: z.string().min(1),
  demo: z.boolean(),
});

/** `fabric up`: etcd (embedded unless --etcd), the router with HAProxy, and the agent, on one machine. */
export function upCommand(): Command {
  const command = new Command('up').description('all in one on this machine: embedded etcd, router with HAProxy, agent on the local Docker');
  addAgentOptions(addCommonOptions(command, '127.0.0.1:7080'))
    .addOption(option('--domain <domain>', 'root domain: containers answer at <service>.<domain>', 'apps.localhost'))
    .addOption(option('--http <host:port>', "HAProxy's HTTP frontend", '127.0.0.1:8080'))
    .addOption(option('--https <host:port>', "HAProxy's HTTPS frontend (a local CA under --data-dir signs its certificate)", '127.0.0.1:8443'))
    .addOption(option('--agent-listen <host:port>', "the agent's HTTP API", '127.0.0.1:7070'))
    .addOption(option('--data-dir <dir>', 'etcd data, HAProxy config and logs', './.fabric'))
    .addOption(option('--demo', 'also start three labelled busybox web containers (service "web")', false));
  return command.action(async (_opts, cmd: Command) => runUp(cmd));
}

async function runUp(command: Command): Promise<void> {
  const { values } = resolveOptions(command);
  const common = commonOptions(values);
  const opts = parseOrThrow(upSchema, values, 'up options');
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const logFile = join(dataDir, 'fabric.log');
  const destination = pino.destination({ dest: logFile, sync: true, append: true });
  const log = (component: string) => createLogger(common.logLevel as LogLevel, component, destination);
  const logger = log('up');
  const out = stdoutOutput(logger);
  const stack = new StopStack(out, logger);
  // Before anything starts: a Ctrl-C (or a closed terminal) while starting stops what was started.
  onShutdown(logger, () => stopFabric(stack, out), { graceMs: 30_000, force: (reason) => stack.forceAll(reason), say: out.line });
  // However this process ends, no child of it (HAProxy, etcd) outlives it.
  process.on('exit', () => killChildren(childProcesses()));
  try {
    await up(
      {
        common,
        // No --etcd (flag, FABRIC_ETCD or config file): run our own.
        embeddedEtcd: command.getOptionValueSource('etcd') === 'default' && values.etcd === command.getOptionValue('etcd'),
        dataDir,
        domain: opts.domain,
        http: opts.http,
        https: opts.https,
        agent: agentOptions(values, '127.0.0.1'),
        agentListen: opts.agentListen,
        demo: opts.demo,
        logFile,
      },
      out,
      log,
      stack,
    );
  } catch (err) {
    if (err instanceof ShutdownRequested) return; // the shutdown handler stops everything and exits
    throw err;
  }
}

async function stopFabric(stack: StopStack, out: Output): Promise<void> {
  out.line('\nstopping fabric…');
  await stack.stopAll();
  out.line('stopped.');
}
