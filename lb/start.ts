import type { FastifyInstance } from 'fastify';
import { connectEtcd } from '../src/etcd.js';
import { createApi, listen } from '../src/http.js';
import type { Logger } from '../src/log.js';
import { createRegistry } from '../src/metrics.js';
import type { CommonOptions } from '../src/options.js';
import { routerRoutes } from './api.js';
import type { RouterConfig } from './config.js';
import { dashboardRoutes } from './dashboard/route.js';
import { EventHub } from './events.js';
import { createHealthSource } from './health/create.js';
import { RouterMetrics } from './metrics.js';
import { Router } from './router.js';
import { defaultRouterId, routerStatusDocument, StatusPublisher } from './status-publisher.js';
import type { ExitIntent } from './target.js';
import { createTargets } from './targets.js';
import { timelineRoutes } from './timeline/api.js';
import { TimelineFeed } from './timeline/feed.js';
import { TimelineStream } from './timeline/stream.js';
import { createAcme } from './tls/acme/create.js';
import { tlsRoutes } from './tls/api.js';
import { createVault } from './tls/create.js';
import { trafficRoutes } from './traffic/api.js';
import { createTraffic } from './traffic/create.js';
import { trafficMetricsText } from './traffic/metrics.js';
import { VipManager } from './vip/manager.js';
import { KeyspaceWatch } from './watch.js';

export interface RouterStartOptions {
  common: CommonOptions;
  config: RouterConfig;
  logger: Logger;
  /** On stop: leave the load balancers serving for the next router (`keep`, `fabric router`'s default), or stop them. */
  lbOnExit: ExitIntent;
}

/** A running router: its API (and dashboard) address, the router itself, and one way to stop both. */
export interface RouterHandle {
  /** `http://host:port` of the API. */
  address: string;
  router: Router;
  api: FastifyInstance;
  /** The dashboard's event stream; `addSource` adds a section to its snapshots. */
  events: EventHub;
  /** Idempotent: API, then router (and the load balancers it supervises), then the etcd client. */
  stop(): Promise<void>;
}

/**
 * Starts the router as `fabric router` and `fabric up` run it:
 * connect etcd → build targets → router → API → start → listen.
 */
export async function startRouter(options: RouterStartOptions): Promise<RouterHandle> {
  const { common, config, logger } = options;
  const registry = createRegistry('router');
  const metrics = new RouterMetrics(registry);
  // A key file that cannot be read stops the start: better than serving every host the default certificate.
  const vault = createVault(config.tls, logger);
  const etcd = connectEtcd(common.etcd);
  let router: Router | undefined;
  const targets = createTargets(config, {
    logger,
    requestApply: () => router?.requestApply(),
    mode: 'normal',
    once: false,
    etcd: etcd.client,
    watchClient: () => etcd.watchClient().client,
    vault,
  });
  const vips = config.vipPool ? new VipManager({ pool: config.vipPool, interface: config.vipInterface }, etcd.kv, logger) : undefined;
  const health = createHealthSource(config, targets, metrics, logger);
  const traffic = createTraffic(config, targets, health, () => router?.model, logger);
  const routerId = config.routerId ?? defaultRouterId(common.listen);
  const acme = createAcme(config, etcd.kv, routerId, registry, logger);
  const watch = new KeyspaceWatch(etcd.watchClient().kv, logger);
  router = new Router(
    watch,
    targets,
    {
      domain: config.domain,
      debounce: config.debounce,
      health,
      vips,
      tls: { default: config.tls.default, defaultCert: config.tls.defaultCert },
      vault,
      acme,
      traffic,
    },
    metrics,
    logger,
  );
  const running = router;
  const publisher = new StatusPublisher({ kv: etcd.kv, routerId, document: () => routerStatusDocument(routerId, running), logger });
  const api = await createApi({
    title: 'fabric router API',
    logger,
    registry,
    moreMetrics: traffic && trafficMetricsText(traffic.store, config.traffic.metricsEndpointCap, { component: 'router' }),
    readiness: () => running.readiness(),
    status: () => running.status(),
    access: common.api,
  });
  routerRoutes(api, running);
  tlsRoutes(api, running);
  trafficRoutes(api, running);
  dashboardRoutes(api);
  const events = new EventHub(api, running, logger);
  events.register();
  const feed = new TimelineFeed({ watch, history: running.history, health, acme, registry });
  feed.start();
  timelineRoutes(api, feed.timeline, feed.hosts);
  const timelineStream = new TimelineStream(feed.timeline, (name, data) => events.publish(name, data));
  timelineStream.start();

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await api.close();
      timelineStream.close();
      await publisher.stop();
      await running.stop(options.lbOnExit);
      etcd.close();
    })());

  running.start();
  publisher.start();
  try {
    const address = await listen(api, common.listen, common.api);
    logger.info({ api: address, domain: config.domain, targets: targets.map((t) => t.name), etcd: common.etcd.endpoints }, 'router started');
    return { address, router: running, api, events, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
