import { nextTurn } from '../../src/concurrency.js';
import type { HaproxyDesired } from '../haproxy/desired.js';
import { unpack } from '../haproxy/stat-feed/delta.js';
import { StatFeed } from '../haproxy/stat-feed/feed.js';
import type { StatChanges, StatMirror } from '../haproxy/stat-feed/mirror.js';
import { BackendChanges } from '../haproxy/stat-feed/reowned.js';
import type { RouteModel } from '../routes/model.js';
import { type SlotOwners, slotOwners } from './owners.js';
import { CounterBaselines } from './sampler.js';
import { parseShowInfo, TRAFFIC_STAT_COLUMNS, trafficRows } from './stat.js';
import type { TrafficStore } from './store.js';

/**
 * One round trip for everything: the process (to see a reload) and every backend and filled
 * server's counters (empty slots are in maintenance: `no-maint` leaves them out). The health
 * read-back sends the same command when traffic is on, so one read serves both.
 */
export const TRAFFIC_STAT_COMMAND = 'show info;show stat -1 6 -1 no-maint';

/** Lines turned into observations between two turns of the event loop (~10 ms of work). */
const STEP_ROWS = 5_000;

/** A HAProxy whose counters are read: its name, and what it runs now (to map slots to endpoints). */
export interface SampledHaproxy {
  readonly name: string;
  readonly adminSocket: string;
  appliedDesired(): HaproxyDesired | undefined;
}

/**
 * Feeds one HAProxy's changed lines to the store: owners of its slots (cached per applied plan)
 * → deltas → store. The lines come from a stat feed (lb/haproxy/stat-feed): the reader's own, or
 * the health read-back's that it shares.
 */
export class HaproxyTrafficReader {
  private readonly baselines: CounterBaselines;
  private owners: SlotOwners | undefined;
  private ownersOf: { desired: HaproxyDesired; routes: readonly RouteModel[] | undefined } | undefined;
  private readonly reowned = new BackendChanges();
  private feed: StatFeed | undefined;

  constructor(
    readonly haproxy: SampledHaproxy,
    private readonly store: TrafficStore,
    private readonly routes: () => readonly RouteModel[] | undefined,
    /** When the router started counting (a process younger than that is counted from zero). */
    startedAt = Date.now(),
    private readonly stepRows = STEP_ROWS,
  ) {
    this.baselines = new CounterBaselines(startedAt);
    store.addSource(haproxy.name);
  }

  get name(): string {
    return this.haproxy.name;
  }

  /** One read of its own feed, then ingest (the loop's tick). Throws a FABRIC_ERR_RUNTIME_API error when HAProxy cannot be read. */
  async read(command?: (socket: string, command: string) => Promise<string>): Promise<void> {
    if (!this.haproxy.appliedDesired()) return;
    this.feed ??= new StatFeed({
      socket: this.haproxy.adminSocket,
      command: TRAFFIC_STAT_COMMAND,
      columns: TRAFFIC_STAT_COLUMNS,
      commandAdapter: command,
    });
    const changes = await this.feed.read();
    await this.ingest(changes, this.feed.mirror, Date.now());
  }

  async close(): Promise<void> {
    await this.feed?.close();
  }

  /**
   * One read's changes; the lines of backends whose slots changed hands since are taken from
   * `mirror`. A big table (a new process: every line) is turned into observations `stepRows` lines
   * at a time, with a turn of the event loop between steps; a small one at once (no turn).
   */
  async ingest(changes: StatChanges, mirror: StatMirror, at: number): Promise<void> {
    const desired = this.haproxy.appliedDesired();
    if (!desired) return;
    const routes = this.routes();
    if (this.ownersOf?.desired !== desired || this.ownersOf.routes !== routes) {
      this.owners = slotOwners(desired, routes);
      this.ownersOf = { desired, routes };
    }
    const info = parseShowInfo(changes.preamble);
    const reowned = this.reowned.since(desired);
    // A new process (a reload): its counters are all new, also on lines that read as before.
    const table = this.baselines.isNewProcess(info) ? mirror.table() : mirror.tableWith(changes, reowned);
    const owners = this.owners!;
    const read = this.baselines.begin(info, at, changes.gone);
    const holds = (slot: string) => this.store.holds(this.haproxy.name, slot);
    for (let start = 0; start < table.lines.length; start += this.stepRows) {
      if (start > 0) await nextTurn();
      read.add(trafficRows(unpack(table, start, start + this.stepRows)) ?? [], owners, holds);
    }
    this.store.ingest(this.haproxy.name, read.sample);
  }
}
