import { Command } from 'commander';
import { createLogger } from '../src/log.js';
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
  const handle = await startRouter({ common, config, logger, lbOnExit: values.lbOnExit as ExitIntent });
  onShutdown(logger, handle.stop);
}
