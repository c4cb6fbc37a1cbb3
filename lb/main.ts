import { Command } from 'commander';
import { connectEtcd } from '../src/etcd.js';
import { createApi, listen } from '../src/http.js';
import { createLogger } from '../src/log.js';
import { createRegistry } from '../src/metrics.js';
import { addCommonOptions, commonOptions, option, parseOrThrow, resolveOptions } from '../src/options.js';
import { onShutdown } from '../src/shutdown.js';
import { routerRoutes } from './api.js';
import { routerConfigSchema } from './config.js';
import { RouterMetrics } from './metrics.js';
import { Router } from './router.js';
import { createTargets } from './targets.js';
import { KeyspaceWatch } from './watch.js';

export function routerCommand(): Command {
  const command = new Command('router').description('watch etcd and keep load balancers in step');
  addCommonOptions(command, '127.0.0.1:7080').addOption(option('--domain <domain>', 'root domain for automatic <service>.<domain> names'));
  return command.action(async (_opts, cmd: Command) => runRouter(cmd));
}

async function runRouter(command: Command): Promise<void> {
  const { values, file } = resolveOptions(command);
  const common = commonOptions(values);
  const config = parseOrThrow(routerConfigSchema, { ...file, domain: values.domain ?? file.domain }, 'router config');
  const logger = createLogger(common.logLevel, 'router');
  const registry = createRegistry('router');
  const metrics = new RouterMetrics(registry);
  const etcd = connectEtcd(common.etcd);
  let router: Router | undefined;
  const targets = createTargets(config, { logger, requestApply: () => router?.requestApply(), mode: 'normal', once: false, etcd: etcd.client });
  router = new Router(new KeyspaceWatch(etcd.kv, logger), targets, { domain: config.domain, debounce: config.debounce }, metrics, logger);
  const running = router;
  const api = createApi({ logger, registry, readiness: () => running.readiness(), status: () => running.status() });
  routerRoutes(api, running);
  running.start();
  const address = await listen(api, common.listen);
  logger.info({ api: address, domain: config.domain, targets: targets.map((t) => t.name), etcd: common.etcd.endpoints }, 'router started');
  onShutdown(logger, async () => {
    await api.close();
    await running.stop();
    etcd.close();
  });
}
