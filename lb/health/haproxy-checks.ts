import { EventEmitter } from 'node:events';
import { nextTurn } from '../../src/concurrency.js';
import { describeError, FabricError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { Endpoint, Health } from '../../src/model/endpoint.js';
import type { HaproxyDesired } from '../haproxy/desired.js';
import { nextReadDelay } from '../haproxy/read-pace.js';
import { type PackedTable, unpack } from '../haproxy/stat-feed/delta.js';
import { StatFeed } from '../haproxy/stat-feed/feed.js';
import type { StatChanges, StatMirror } from '../haproxy/stat-feed/mirror.js';
import { BackendChanges } from '../haproxy/stat-feed/reowned.js';
import type { Model, ModelEndpoint, ServiceModel } from '../model.js';
import { backendCheck, endpointCheckSpec } from './backend-check.js';
import type { HealthMetrics } from './checker.js';
import { EFFECTIVE_HEALTH, type EffectiveHealth, effectiveHealth } from './effective.js';
import { CHECK_STAT_COLUMNS, hasCheckColumns, parseShowStat } from './haproxy-stat.js';
import { checkedSlots, statusFromRow } from './haproxy-verdicts.js';
import type { CheckView, HealthSource } from './source.js';
import { type CheckDefaults, type CheckSpec, endpointKey, probeTarget } from './spec.js';
import { type CheckStatus, checkAllowsServing, INITIAL_STATUS } from './state.js';
import { SyncedServices, syncServices } from './synced.js';

/** The HAProxy whose checks are read: its admin socket, and what it runs now (the slots of its backends). */
export interface CheckedHaproxy {
  readonly adminSocket: string;
  /** Undefined before the first apply, or while HAProxy is down. */
  appliedDesired(): HaproxyDesired | undefined;
}

export interface HaproxyChecksOptions {
  defaults: CheckDefaults;
  haproxy: CheckedHaproxy;
  logger: Logger;
  metrics?: Pick<HealthMetrics, 'setEndpointCounts'>;
  /** One `show stat` of every server per this many ms. */
  readIntervalMs?: number;
  /** The admin socket adapter; replaceable for unit tests. */
  command?: (socket: string, command: string) => Promise<string>;
}

interface Tracked {
  docker: Health;
  /** Absent: nothing checks this endpoint (router default `unconfigured: none`). */
  spec: CheckSpec | undefined;
  target: string | undefined;
  status: CheckStatus;
}

const READ_INTERVAL_MS = 1_000;

/** Another reader of a shared read: what this read changed (its other commands' answers too) and the whole table as it is now. */
export type SharedStatListener = (changes: StatChanges, mirror: StatMirror, at: number) => void | Promise<void>;
/** Lines read for verdicts between two turns of the event loop: a new process lists all 120,000 at once. */
const STEP_ROWS = 5_000;
/** Servers only (type 4), every proxy; empty slots are in maintenance and left out. */
const SHOW_STAT = 'show stat -1 4 -1 no-maint';
/** Columns that change at every read or check without saying anything new: they never make a line "changed". */
const VOLATILE = ['lastchg', 'check_duration'];

/**
 * The active checks when HAProxy runs them (`check`, `option httpchk`, …, in
 * its config): one `show stat` of all servers per second is read back, each
 * server slot mapped to its endpoint, and the verdicts feed the model exactly
 * as the router's own checker's do, so nginx and SLB targets, the API, the
 * status document and the metrics show the same.
 */
export class HaproxyChecks extends EventEmitter implements HealthSource {
  readonly runner = 'haproxy' as const;
  private readonly tracked = new Map<string, Tracked>();
  private readonly synced = new SyncedServices();
  private verdictsVersion = 0;
  private slots = new Map<string, ReadonlyMap<string, string>>();
  private slotsOf: HaproxyDesired | undefined;
  private reowned = new BackendChanges();
  private feed: StatFeed | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private stopped = false;
  private readonly readIntervalMs: number;
  private lastRead: number | undefined;
  private readFailures = 0;
  private reads = 0;
  private lastReadMs: number | undefined;
  /** Tracked endpoints with a check: none, and HAProxy is not read at all (a `show stat` of 100,000 servers is ~26 MB). */
  private checkedCount = 0;
  /** counts(), kept as endpoints are tracked, forgotten and change state: at 100,000 endpoints a walk per change or API call was ~50 ms. */
  private readonly healthCounts = Object.fromEntries(EFFECTIVE_HEALTH.map((h) => [h, 0])) as Record<EffectiveHealth, number>;
  /** Another reader of the same answer (lb/traffic): its wider command, and where each answer goes. */
  private shared: { command: string; columns: string[]; theirs: readonly string[]; listener: SharedStatListener } | undefined;
  /** Whether the feed compares the check columns: not while nothing is checked (each check's end would change a line). */
  private feedChecks = false;

  constructor(private readonly options: HaproxyChecksOptions) {
    super();
    this.readIntervalMs = options.readIntervalMs ?? READ_INTERVAL_MS;
  }

  override on(event: 'change', listener: (key: string, status: CheckStatus) => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: the implementation signature behind the typed overloads above
  override on(event: string, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  /** After each model build: each endpoint's check as its backend runs it. Unchanged services (same objects) are skipped. */
  sync(model: Model): void {
    if (this.stopped) return;
    // One check per backend: computed once per changed service, not per endpoint.
    let service: ServiceModel | undefined;
    let check: ReturnType<typeof backendCheck>;
    const changed = syncServices(
      this.synced,
      model,
      (key, endpoint, of) => {
        if (of !== service) [service, check] = [of, backendCheck(of, this.options.defaults)];
        this.track(key, endpoint, check && endpointCheckSpec(endpoint, check));
      },
      (key) => this.forget(key),
    );
    if (changed) this.options.metrics?.setEndpointCounts(this.counts());
    this.timer ??= this.schedule();
  }

  verdict(endpoint: Pick<Endpoint, 'service' | 'host' | 'container'>): 'healthy' | 'unhealthy' | undefined {
    const state = this.tracked.get(endpointKey(endpoint))?.status.state;
    return state === 'unknown' ? undefined : state;
  }

  get version(): number {
    return this.verdictsVersion;
  }

  effectiveHealth(endpoint: Pick<Endpoint, 'service' | 'host' | 'container' | 'health'>): EffectiveHealth {
    return effectiveHealth(endpoint.health, this.tracked.get(endpointKey(endpoint))?.status.state);
  }

  /** `lastCheck` is the last read of HAProxy's state (at most a second old): HAProxy does not say when it checked. */
  view(endpoint: Pick<Endpoint, 'service' | 'host' | 'container'>): CheckView | null {
    const tracked = this.tracked.get(endpointKey(endpoint));
    if (!tracked?.spec) return null;
    const { spec, status } = tracked;
    return {
      kind: spec.kind,
      target: tracked.target!,
      source: spec.source,
      intervalMs: spec.intervalMs,
      timeoutMs: spec.timeoutMs,
      rise: spec.rise,
      fall: spec.fall,
      ...status,
      since: iso(status.since),
      lastCheck: status.state === 'unknown' ? null : iso(this.lastRead),
    };
  }

  counts(): Record<EffectiveHealth, number> {
    return { ...this.healthCounts };
  }

  /** One tracked endpoint's share of counts(), taken out (-1) before it changes and put back (+1) after. */
  private count(t: Tracked, sign: 1 | -1): void {
    this.healthCounts[effectiveHealth(t.docker, t.spec ? t.status.state : undefined)] += sign;
  }

  get checks() {
    return {
      endpoints: this.checkedCount,
      inFlight: 0,
      queued: 0,
      runBy: 'haproxy',
      reads: this.reads,
      lastRead: iso(this.lastRead),
      lastReadMs: this.lastReadMs ?? null,
      readFailures: this.readFailures,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.reading;
    await this.feed?.close();
  }

  /** The HAProxy whose checks are read. */
  get haproxy(): CheckedHaproxy {
    return this.options.haproxy;
  }

  /**
   * Reads `command` (a superset of the servers' `show stat`, e.g. traffic's `show info;show stat
   * -1 6 -1 no-maint`) instead, and hands every answer to `listener` too: one socket read per tick
   * serves both. The listener's errors are logged, never fail the verdicts.
   */
  shareReads(command: string, columns: readonly string[], listener: SharedStatListener): void {
    this.shared = { command, columns: [...new Set([...CHECK_STAT_COLUMNS, ...columns])], theirs: columns, listener };
    this.feed = undefined;
  }

  /** One read now (tests, and the loop). Never throws: a failed read keeps the last verdicts. */
  async readOnce(): Promise<void> {
    const desired = this.options.haproxy.appliedDesired();
    if (!desired || this.stopped || (this.checkedCount === 0 && !this.shared)) return;
    const reowned = this.reowned.since(desired);
    if (desired !== this.slotsOf) {
      this.slots = checkedSlots(desired);
      this.slotsOf = desired;
    }
    const started = Date.now();
    try {
      const checking = this.checkedCount > 0;
      // Checks come or all go: a feed with (or without) their columns, whose first read is the whole table.
      if (this.feed && this.shared && this.feedChecks !== checking) await this.closeFeed();
      this.feedChecks = checking;
      const feed = (this.feed ??= this.newFeed());
      const changes = await feed.read();
      if (checking && !hasCheckColumns(changes.table.at)) throw new FabricError('FABRIC_ERR_RUNTIME_API', `${SHOW_STAT}: no status column in the answer`);
      if (this.readFailures > 0) this.options.logger.info({ failures: this.readFailures }, 'reading HAProxy check states again');
      this.readFailures = 0;
      const at = Date.now();
      this.reads += 1;
      this.lastRead = at;
      // The changed lines, and the lines of backends whose slots may have changed hands since the last read.
      if (checking) await this.applyInSteps(feed.mirror.tableWith(changes, reowned), at);
      await this.handOver(changes, feed.mirror, at);
    } catch (err) {
      // HAProxy restarting or reloading: its verdicts are read again on the next tick, every backend's lines with them.
      this.reowned = new BackendChanges();
      this.readFailures += 1;
      const log = this.readFailures === 1 ? this.options.logger.warn : this.options.logger.debug;
      log.call(this.options.logger, { err: describeError(err) }, 'could not read HAProxy check states; keeping the last verdicts');
    }
    this.lastReadMs = Date.now() - started;
  }

  private async closeFeed(): Promise<void> {
    const feed = this.feed;
    this.feed = undefined;
    await feed?.close();
  }

  private newFeed(): StatFeed {
    return new StatFeed({
      socket: this.options.haproxy.adminSocket,
      command: this.shared?.command ?? SHOW_STAT,
      columns: this.shared ? (this.feedChecks ? this.shared.columns : this.shared.theirs) : CHECK_STAT_COLUMNS,
      volatile: VOLATILE,
      commandAdapter: this.options.command,
    });
  }

  private async handOver(changes: StatChanges, mirror: StatMirror, at: number): Promise<void> {
    try {
      await this.shared?.listener(changes, mirror, at);
    } catch (err) {
      this.options.logger.warn({ err: describeError(err) }, "a shared reader of HAProxy's stats failed");
    }
  }

  /** The verdicts of these lines, STEP_ROWS at a time with a turn of the event loop between (none for a small table). */
  private async applyInSteps(table: PackedTable, at: number): Promise<void> {
    for (let start = 0; start < table.lines.length; start += STEP_ROWS) {
      if (start > 0) await nextTurn();
      this.apply(parseShowStat(unpack(table, start, start + STEP_ROWS)) ?? [], at);
    }
  }

  private apply(rows: ReturnType<typeof parseShowStat> & object, at: number): void {
    let counts = false;
    for (const row of rows) {
      const key = this.slots.get(row.backend)?.get(row.server);
      const tracked = key === undefined ? undefined : this.tracked.get(key);
      if (!tracked?.spec) continue;
      const before = tracked.status;
      const after = statusFromRow(row, before, at, tracked.spec.rise);
      if (after === before) continue;
      this.count(tracked, -1);
      tracked.status = after;
      this.count(tracked, 1);
      if (after.state === before.state) continue;
      this.verdictsVersion += 1;
      counts = true;
      const log = after.state === 'unhealthy' ? this.options.logger.warn : this.options.logger.info;
      log.call(
        this.options.logger,
        { endpoint: key, check: tracked.target, from: before.state, to: after.state, error: after.lastError, by: 'haproxy' },
        'health check state changed',
      );
      if (checkAllowsServing(before.state) !== checkAllowsServing(after.state)) this.emit('change', key, after);
    }
    if (counts) this.options.metrics?.setEndpointCounts(this.counts());
  }

  private schedule(): NodeJS.Timeout {
    const timer = setTimeout(
      () => {
        this.reading = this.readOnce().finally(() => {
          this.reading = undefined;
          if (!this.stopped) this.timer = this.schedule();
        });
      },
      nextReadDelay(this.readIntervalMs, this.lastReadMs),
    );
    timer.unref?.();
    return timer;
  }

  private track(key: string, endpoint: ModelEndpoint, spec: CheckSpec | undefined): void {
    const target = spec && probeTarget(spec);
    const tracked = this.tracked.get(key);
    this.checkedCount += (spec ? 1 : 0) - (tracked?.spec ? 1 : 0);
    if (tracked) this.count(tracked, -1);
    if (tracked && tracked.target === target) {
      tracked.docker = endpoint.health;
      tracked.spec = spec;
      this.count(tracked, 1);
      return;
    }
    // A new endpoint, or a new address/port/path: earlier results say nothing about it.
    if (tracked && tracked.status.state !== 'unknown') this.verdictsVersion += 1;
    const fresh: Tracked = { docker: endpoint.health, spec, target, status: INITIAL_STATUS };
    this.tracked.set(key, fresh);
    this.count(fresh, 1);
  }

  private forget(key: string): void {
    const tracked = this.tracked.get(key);
    if (!tracked) return;
    this.tracked.delete(key);
    this.count(tracked, -1);
    if (tracked.spec) this.checkedCount -= 1;
    if (tracked.status.state !== 'unknown') this.verdictsVersion += 1;
  }
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
