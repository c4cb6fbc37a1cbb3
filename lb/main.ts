import { Command } from 'commander';
import { childProcesses, describeChildren, killChildren, waitGone } from '../src/children.js';
import { createLogger, type Logger } from '../src/log.js';
import { addCommonOptions, commonOptions, option, parseOrThrow, resolveOptions } from '../src/options.js';
import { onShutdown } from '../src/shutdown.js';
import { ROUTER_CONFIG_KEYS, routerConfigSchema } from './config.js';
import { startRouter } from './start.js';
import type { ExitIntent } from './target.js';

export function routerCommand(): Command {
  const command = new Command('router').description('watch etcd and keep load balancers in step');
  addCommonOptions(command, '127.0.0.1:7080')
    .addOption(option('--domain <domain>', 'root domain for automatic <service>.<domain> names'))
    .addOption(
      option('--lb-on-exit <keep|stop>', 'on SIGTERM/SIGINT: leave HAProxy/nginx serving for the next router to adopt (keep), or stop them', 'keep').choices([
        'keep',
        'stop',
      ]),
    );
  return command.action(async (_opts, cmd: Command) => runRouter(cmd));
}

async function runRouter(command: Command): Promise<void> {
  const { values, file } = resolveOptions(command, { fileKeys: ROUTER_CONFIG_KEYS });
  const common = commonOptions(values);
  const config = parseOrThrow(routerConfigSchema, { ...file, domain: values.domain ?? file.domain }, String(values.config ?? 'router config'));
  const logger = createLogger(common.logLevel, 'router');
  const lbOnExit = values.lbOnExit as ExitIntent;
  const handle = await startRouter({ common, config, logger, lbOnExit });
  onShutdown(logger, handle.stop, { force: (reason) => forceStop(reason, lbOnExit, logger) });
}

/** A second signal: with `--lb-on-exit stop` the load balancers must not outlive the router, so they are killed. */
async function forceStop(reason: string, lbOnExit: ExitIntent, logger: Logger): Promise<void> {
  const children = lbOnExit === 'stop' ? childProcesses() : [];
  if (lbOnExit === 'keep') logger.warn(`${reason}: exiting now; the load balancers keep serving (--lb-on-exit keep)`);
  else logger.warn({ children }, `${reason}: stopping now — ${children.length ? `killing ${describeChildren(children)}` : 'no child process left'}`);
  await waitGone(killChildren(children));
}
