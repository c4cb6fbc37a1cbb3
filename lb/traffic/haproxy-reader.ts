import { FabricError } from '../../src/errors.js';
import type { HaproxyDesired } from '../haproxy/desired.js';
import type { StatTable } from '../haproxy/stat-csv.js';
import type { RouteModel } from '../routes/model.js';
import { type SlotOwners, slotOwners } from './owners.js';
import { CounterBaselines } from './sampler.js';
import { parseShowInfo, type TrafficColumn, trafficRows } from './stat.js';
import type { TrafficStore } from './store.js';

/**
 * One round trip for everything: the process (to see a reload) and every backend and filled
 * server's counters (empty slots are in maintenance: `no-maint` leaves them out). The health
 * read-back sends the same command when traffic is on, so one read serves both.
 */
export const TRAFFIC_STAT_COMMAND = 'show info;show stat -1 6 -1 no-maint';

/** A HAProxy whose counters are read: its name, and what it runs now (to map slots to endpoints). */
export interface SampledHaproxy {
  readonly name: string;
  readonly adminSocket: string;
  appliedDesired(): HaproxyDesired | undefined;
}

/**
 * Feeds one HAProxy's answers to the store: parse → owners of its slots (cached per applied plan)
 * → deltas → store. The read itself is done by the caller (the sampler's loop, or the health
 * read-back that shares it).
 */
export class HaproxyTrafficReader {
  private readonly baselines: CounterBaselines;
  private owners: SlotOwners | undefined;
  private ownersOf: { desired: HaproxyDesired; routes: readonly RouteModel[] | undefined } | undefined;

  constructor(
    readonly haproxy: SampledHaproxy,
    private readonly store: TrafficStore,
    private readonly routes: () => readonly RouteModel[] | undefined,
  ) {
    this.baselines = new CounterBaselines(Date.now());
    store.addSource(haproxy.name);
  }

  get name(): string {
    return this.haproxy.name;
  }

  /** One round trip on the admin socket, then ingest (the loop's tick). */
  async read(command: (socket: string, command: string) => Promise<string>): Promise<void> {
    if (!this.haproxy.appliedDesired()) return;
    this.ingest(await command(this.haproxy.adminSocket, TRAFFIC_STAT_COMMAND), Date.now());
  }

  /** Throws a FABRIC_ERR_RUNTIME_API error when the answer is not a `show stat`. `table`: the answer's stat table, already split by a shared read. */
  ingest(text: string, at: number, table?: StatTable<TrafficColumn>): void {
    const desired = this.haproxy.appliedDesired();
    if (!desired) return;
    const rows = trafficRows(table ?? text);
    if (!rows) throw new FabricError('FABRIC_ERR_RUNTIME_API', `${TRAFFIC_STAT_COMMAND}: ${text.trim().slice(0, 200) || 'no answer'}`);
    const routes = this.routes();
    if (this.ownersOf?.desired !== desired || this.ownersOf.routes !== routes) {
      this.owners = slotOwners(desired, routes);
      this.ownersOf = { desired, routes };
    }
    this.store.ingest(this.haproxy.name, this.baselines.observe(rows, parseShowInfo(text), this.owners!, at));
  }
}
