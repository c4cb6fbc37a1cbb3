import { EventEmitter } from 'node:events';
import { describeError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { Endpoint, Health } from '../../src/model/endpoint.js';
import type { Model } from '../model.js';
import { EFFECTIVE_HEALTH, type EffectiveHealth, effectiveHealth } from './effective.js';
import { type Probe, runProbe } from './probe.js';
import { CheckScheduler } from './scheduler.js';
import type { CheckView, HealthSource } from './source.js';
import { type CheckDefaults, type CheckSpec, endpointKey, probeTarget, resolveCheck } from './spec.js';
import { SyncedServices, syncServices } from './synced.js';

export type { CheckView } from './source.js';

import { type CheckStatus, checkAllowsServing, INITIAL_STATUS, observe } from './state.js';

export interface HealthMetrics {
  observeCheck(kind: CheckSpec['kind'], ok: boolean, seconds: number): void;
  setEndpointCounts(counts: Record<EffectiveHealth, number>): void;
}

export interface HealthCheckerOptions {
  defaults: CheckDefaults;
  /** At most this many probes in flight. */
  concurrency: number;
  logger: Logger;
  metrics?: HealthMetrics;
  /** The probe adapter (node:net / node:http); replaceable for unit tests. */
  probe?: Probe;
}

interface Entry {
  spec: CheckSpec;
  target: string;
  status: CheckStatus;
}

/**
 * The router's active health checks: one entry per endpoint of the current
 * model, probed by the scheduler, judged by the rise/fall state machine.
 * Emits `change` when an endpoint's check starts or stops allowing it to
 * serve; the router then re-applies, and the model reads `verdict()`.
 */
export class HealthChecker extends EventEmitter implements HealthSource {
  readonly runner = 'router' as const;
  private readonly entries = new Map<string, Entry>();
  /** Docker's health of every endpoint in the model, and the effective health derived from it. */
  private readonly docker = new Map<string, Health>();
  private readonly effective = new Map<string, EffectiveHealth>();
  private tally = zeroCounts();
  /** Per service, what the last sync saw. */
  private readonly synced = new SyncedServices();
  private readonly scheduler: CheckScheduler;
  private readonly probe: Probe;
  private stopped = false;
  private verdictsVersion = 0;

  constructor(private readonly options: HealthCheckerOptions) {
    super();
    this.probe = options.probe ?? runProbe;
    this.scheduler = new CheckScheduler({
      concurrency: options.concurrency,
      onError: (key, err) => options.logger.error({ endpoint: key, err: describeError(err) }, 'health check crashed'),
    });
  }

  override on(event: 'change', listener: (key: string, status: CheckStatus) => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: the implementation signature behind the typed overloads above
  override on(event: string, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  /**
   * After each model build: start checks for new endpoints, update changed ones, stop gone ones.
   * A service whose endpoints and spec are the same objects as at the last sync (the model memo
   * reuses them) is skipped: nothing about its checks can have changed.
   */
  sync(model: Model): void {
    if (this.stopped) return;
    const changed = syncServices(
      this.synced,
      model,
      (key, endpoint, service) => {
        this.docker.set(key, endpoint.health);
        this.track(key, resolveCheck(endpoint, service.spec, this.options.defaults));
      },
      (key) => this.forget(key),
    );
    if (changed) this.recount();
  }

  /** The active check's word on an endpoint, for the model: undefined until it has one. */
  verdict(endpoint: Pick<Endpoint, 'service' | 'host' | 'container'>): 'healthy' | 'unhealthy' | undefined {
    const state = this.entries.get(endpointKey(endpoint))?.status.state;
    return state === 'unknown' ? undefined : state;
  }

  /** Changes whenever `verdict()` may answer differently for some endpoint: while it is the same, the model may reuse the last verdicts. */
  get version(): number {
    return this.verdictsVersion;
  }

  effectiveHealth(endpoint: Pick<Endpoint, 'service' | 'host' | 'container' | 'health'>): EffectiveHealth {
    return effectiveHealth(endpoint.health, this.entries.get(endpointKey(endpoint))?.status.state);
  }

  /** The check of one endpoint, for the API; null when none runs. */
  view(endpoint: Pick<Endpoint, 'service' | 'host' | 'container'>): CheckView | null {
    const entry = this.entries.get(endpointKey(endpoint));
    if (!entry) return null;
    const { spec, status } = entry;
    return {
      kind: spec.kind,
      target: entry.target,
      source: spec.source,
      intervalMs: spec.intervalMs,
      timeoutMs: spec.timeoutMs,
      rise: spec.rise,
      fall: spec.fall,
      ...status,
      since: iso(status.since),
      lastCheck: iso(status.lastCheck),
    };
  }

  /** Endpoints of the model by effective health. */
  counts(): Record<EffectiveHealth, number> {
    return { ...this.tally };
  }

  get checks(): { endpoints: number; inFlight: number; queued: number } {
    return { endpoints: this.scheduler.size, inFlight: this.scheduler.inFlight, queued: this.scheduler.queued };
  }

  /** Idempotent: stops every check and waits for the ones in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.scheduler.stop();
  }

  private track(key: string, spec: CheckSpec | undefined): void {
    if (!spec) {
      this.untrack(key);
      return;
    }
    const target = probeTarget(spec);
    const entry = this.entries.get(key);
    if (entry && entry.target === target) {
      entry.spec = spec;
    } else {
      // A new endpoint, or a new address/port/path: earlier results say nothing about it.
      this.entries.set(key, { spec, target, status: INITIAL_STATUS });
      this.verdictsVersion += 1;
      if (entry) this.scheduler.delete(key);
    }
    this.scheduler.set(key, spec.intervalMs, (signal) => this.check(key, signal));
  }

  /** The endpoint left the model. */
  private forget(key: string): void {
    this.untrack(key);
    this.docker.delete(key);
  }

  private untrack(key: string): void {
    this.scheduler.delete(key);
    if (this.entries.delete(key)) this.verdictsVersion += 1;
  }

  private async check(key: string, signal: AbortSignal): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    const started = Date.now();
    const outcome = await this.probe(entry.spec, signal);
    // Stopped, removed or re-targeted meanwhile: this result belongs to nobody.
    if (signal.aborted || this.entries.get(key) !== entry) return;
    const at = Date.now();
    this.options.metrics?.observeCheck(entry.spec.kind, outcome.ok, (at - started) / 1000);
    const before = entry.status;
    entry.status = observe(before, { ...outcome, at, durationMs: at - started }, entry.spec);
    if (entry.status.state === before.state) return;
    this.verdictsVersion += 1;
    const log = entry.status.state === 'unhealthy' ? this.options.logger.warn : this.options.logger.info;
    log.call(
      this.options.logger,
      { endpoint: key, check: entry.target, from: before.state, to: entry.status.state, error: entry.status.lastError },
      'health check state changed',
    );
    this.updateEffective(key);
    if (checkAllowsServing(before.state) !== checkAllowsServing(entry.status.state)) this.emit('change', key, entry.status);
  }

  private updateEffective(key: string): void {
    const docker = this.docker.get(key);
    const before = this.effective.get(key);
    if (docker === undefined || before === undefined) return;
    const after = effectiveHealth(docker, this.entries.get(key)?.status.state);
    this.effective.set(key, after);
    this.tally[before] -= 1;
    this.tally[after] += 1;
    this.options.metrics?.setEndpointCounts(this.counts());
  }

  private recount(): void {
    this.effective.clear();
    this.tally = zeroCounts();
    for (const [key, docker] of this.docker) {
      const health = effectiveHealth(docker, this.entries.get(key)?.status.state);
      this.effective.set(key, health);
      this.tally[health] += 1;
    }
    this.options.metrics?.setEndpointCounts(this.counts());
  }
}

function zeroCounts(): Record<EffectiveHealth, number> {
  return Object.fromEntries(EFFECTIVE_HEALTH.map((h) => [h, 0])) as Record<EffectiveHealth, number>;
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
