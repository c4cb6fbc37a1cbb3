import { type Counters, counterDelta } from './counters.js';
import { type SlotOwner, type SlotOwners, slotOwner } from './owners.js';
import type { ProcessInfo, TrafficRow } from './stat.js';

/** One slot's (or backend's) share of one read: what happened since the last read, and its gauges now. */
export interface Observation {
  service: string;
  /** Undefined for a backend's own line: only its queue is read from it. */
  owner: SlotOwner | undefined;
  delta: Counters | undefined;
  sessions: number;
  queue: number;
  responseTimeMs: number | undefined;
}

export interface Sample {
  at: number;
  /** Where the deltas start: the previous read, or (first read) when the process started. */
  from: number;
  observations: Observation[];
  /** The load balancer's counters started again since the last read (a reload: a new process). */
  reset: boolean;
}

/**
 * Turns successive reads of cumulative counters into deltas, per server slot:
 * - a new process (show info's Pid changed, or its uptime went back): its counters are all new;
 * - the first read after the router started: all new if the process is younger than the router
 *   (it started it), else only a baseline (adopted: the counters hold traffic from before);
 * - a slot never seen in a known process: all new (an empty slot serves nothing, and empty slots
 *   are in maintenance, so the read leaves them out until an endpoint fills them);
 * - otherwise the difference, never negative (a counter that went down was cleared).
 * A slot's baseline outlives its gaps (maintenance), so a slot filled again at run time by another
 * endpoint counts only what came after. No I/O.
 */
export class CounterBaselines {
  private readonly last = new Map<string, Counters>();
  private process: ProcessInfo | undefined;
  private lastAt: number | undefined;

  constructor(private readonly startedAt: number) {}

  get size(): number {
    return this.last.size;
  }

  observe(rows: readonly TrafficRow[], info: ProcessInfo, owners: SlotOwners, at: number): Sample {
    const reset = this.process !== undefined && isNewProcess(this.process, info);
    const adopted = this.process === undefined && !youngerThan(info, at - this.startedAt);
    this.process = info;
    const from = this.lastAt ?? (adopted ? at : Math.max(this.startedAt, at - (info.uptimeS ?? 0) * 1000));
    this.lastAt = at;
    if (reset) this.last.clear();
    const observations: Observation[] = [];
    for (const row of rows) {
      if (row.server === 'BACKEND') {
        const service = owners.backends.get(row.backend);
        if (service !== undefined && row.queue > 0) {
          observations.push({ service, owner: undefined, delta: undefined, sessions: 0, queue: row.queue, responseTimeMs: undefined });
        }
        continue;
      }
      const name = `${row.backend}/${row.server}`;
      const before = this.last.get(name);
      this.last.set(name, row.counters);
      const owner = slotOwner(owners, row.backend, row.server);
      if (!owner) continue;
      const delta = adopted ? undefined : before ? counterDelta(before, row.counters) : row.counters;
      observations.push({ service: owner.service, owner, delta, sessions: row.sessions, queue: row.queue, responseTimeMs: row.responseTimeMs });
    }
    return { at, from, observations, reset };
  }
}

function isNewProcess(before: ProcessInfo, now: ProcessInfo): boolean {
  if (before.pid !== undefined && now.pid !== undefined && before.pid !== now.pid) return true;
  return before.uptimeS !== undefined && now.uptimeS !== undefined && now.uptimeS < before.uptimeS;
}

/** Whether the process started within the last `ms` (uptime is in whole seconds: one second of slack). */
function youngerThan(info: ProcessInfo, ms: number): boolean {
  return info.uptimeS !== undefined && info.uptimeS <= ms / 1000 + 1;
}
