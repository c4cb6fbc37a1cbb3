import type { Logger } from '../../src/log.js';
import type { RouterConfig } from '../config.js';
import { HaproxyChecks } from '../health/haproxy-checks.js';
import type { HealthSource } from '../health/source.js';
import type { Model } from '../model.js';
import type { Target } from '../target.js';
import { HaproxyTrafficReader, type SampledHaproxy, TRAFFIC_STAT_COMMAND } from './haproxy-reader.js';
import { NginxTrafficReader, type SampledNginx } from './nginx-reader.js';
import { SamplerLoop, type TrafficReader } from './sampler-loop.js';
import { TRAFFIC_STAT_COLUMNS } from './stat.js';
import { TrafficStore } from './store.js';
import { serviceTraffic, trafficSummary } from './view.js';

/** The router's traffic: the store the API reads, and the loops that fill it. */
export class Traffic {
  constructor(
    readonly store: TrafficStore,
    private readonly loop: SamplerLoop,
    readonly options: { metricsEndpointCap: number; sampleIntervalMs: number },
  ) {}

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** `traffic` of `/v1/services` items; null when no target samples traffic or the service has not been sampled yet. */
  service(name: string, withSeries = false) {
    return this.store.sources.size === 0 ? null : serviceTraffic(this.store, name, withSeries);
  }

  summary() {
    return trafficSummary(this.store);
  }

  status() {
    return {
      sources: [...this.store.sources],
      samples: this.store.samples,
      resets: this.store.resets,
      sampledAt: this.store.sampledAt === undefined ? null : new Date(this.store.sampledAt).toISOString(),
      services: this.store.services.size,
      endpoints: this.store.endpoints.size,
      versions: this.store.versions.size,
      ringBytes: this.store.ringBytes(),
      lastReadMs: this.loop.lastReadMs ?? null,
    };
  }
}

/**
 * Traffic for every HAProxy target whose admin socket the router can read. The one whose checks
 * HAProxy runs is read by the health read-back, which hands each answer over (one read per tick);
 * the others by traffic's own loop. Undefined when `traffic.enabled` is false.
 */
export function createTraffic(
  config: RouterConfig,
  targets: readonly Target[],
  health: HealthSource | undefined,
  model: () => Model | undefined,
  logger: Logger,
): Traffic | undefined {
  if (!config.traffic.enabled) return undefined;
  const store = new TrafficStore();
  const routes = () => model()?.weightedRoutes;
  const readable = targets.filter(isSampledHaproxy);
  const shared = health instanceof HaproxyChecks ? health.haproxy : undefined;
  const own: TrafficReader[] = [];
  for (const target of readable) {
    const reader = new HaproxyTrafficReader(target, store, routes);
    if (shared === (target as unknown) && health instanceof HaproxyChecks)
      health.shareReads(TRAFFIC_STAT_COMMAND, TRAFFIC_STAT_COLUMNS, (changes, mirror, at) => reader.ingest(changes, mirror, at));
    else own.push(reader);
  }
  for (const target of targets.filter(isSampledNginx)) own.push(new NginxTrafficReader(target, store));
  const loop = new SamplerLoop(own, { intervalMs: config.traffic.sampleInterval, logger: logger.child({ scope: 'traffic' }) });
  return new Traffic(store, loop, { metricsEndpointCap: config.traffic.metricsEndpointCap, sampleIntervalMs: config.traffic.sampleInterval });
}

function isSampledHaproxy(target: Target): target is Target & SampledHaproxy {
  const candidate = target as Target & Partial<SampledHaproxy> & { readsAdminSocket?: boolean };
  return (
    target.kind === 'haproxy' &&
    typeof candidate.adminSocket === 'string' &&
    typeof candidate.appliedDesired === 'function' &&
    candidate.readsAdminSocket !== false
  );
}

function isSampledNginx(target: Target): target is Target & SampledNginx {
  return target.kind === 'nginx' && typeof (target as Target & Partial<SampledNginx>).trafficLog === 'string';
}
