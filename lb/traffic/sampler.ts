import { COUNTERS, type Counters, counterDelta } from './counters.js';
import { type SlotOwner, type SlotOwners, slotOwner } from './owners.js';
import type { ProcessInfo, TrafficRow } from './stat.js';

/** One slot's (or backend's) share of one read: what happened since the last read, and its gauges now. */
export interface Observation {
  service: string;
  /** The line's `backend/server` (`backend/BACKEND` for a backend's): its gauges hold until the line changes or leaves. Absent: one per owner (nginx). */
  slot?: string;
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
  /** Slots whose lines are no longer listed: their gauges end. A slot in neither list is as it was. */
  gone?: readonly string[];
  /** The load balancer's counters started again since the last read (a reload: a new process). */
  reset: boolean;
  /** Services whose lines were listed with nothing to say (BaselineRead.add with `holds`): sampled as if each had an empty observation. */
  listed?: Set<string>;
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

  /** Whether a read with this `show info` comes from a new process (every line's counters are then new, changed or not). */
  isNewProcess(info: ProcessInfo): boolean {
    return this.process !== undefined && isNewProcess(this.process, info);
  }

  /** `rows`: the lines that changed (or every line); `gone`: the slots that left since the last read. */
  observe(rows: readonly TrafficRow[], info: ProcessInfo, owners: SlotOwners, at: number, gone: readonly string[] = []): Sample {
    const read = this.begin(info, at, gone);
    read.add(rows, owners);
    return read.sample;
  }

  /**
   * One read taken in steps (a whole table at 100,000 lines is not turned into observations in one
   * go): its process and time now, then its lines by `add`, in as many parts as wanted.
   */
  begin(info: ProcessInfo, at: number, gone: readonly string[] = []): BaselineRead {
    const reset = this.process !== undefined && isNewProcess(this.process, info);
    const adopted = this.process === undefined && !youngerThan(info, at - this.startedAt);
    this.process = info;
    const from = this.lastAt ?? (adopted ? at : Math.max(this.startedAt, at - (info.uptimeS ?? 0) * 1000));
    this.lastAt = at;
    if (reset) this.last.clear();
    return new BaselineRead(this.last, adopted, { at, from, observations: [], gone: [...gone], reset });
  }
}

/** One read's lines, added in parts: each slot's delta against its baseline, the baseline moved on. */
export class BaselineRead {
  constructor(
    private readonly last: Map<string, Counters>,
    private readonly adopted: boolean,
    readonly sample: Sample & { gone: string[] },
  ) {}

  /**
   * `holds(slot)`: whether the store keeps that slot's line (lb/traffic/store.ts). Given, a line
   * with nothing to say of a slot it does not hold is no observation: only its service is listed
   * (at 100,000 idle lines, a read after a reload is then 10,000 names, not 100,000 observations).
   */
  add(rows: readonly TrafficRow[], owners: SlotOwners, holds?: (slot: string) => boolean): void {
    const { observations, gone } = this.sample;
    for (const row of rows) {
      const name = `${row.backend}/${row.server}`;
      if (row.server === 'BACKEND') {
        const service = owners.backends.get(row.backend);
        if (service !== undefined)
          observations.push({ service, slot: name, owner: undefined, delta: undefined, sessions: 0, queue: row.queue, responseTimeMs: undefined });
        continue;
      }
      const before = this.last.get(name);
      this.last.set(name, row.counters);
      const owner = slotOwner(owners, row.backend, row.server);
      // Listed but no one's (a slot being emptied): whatever it held ends.
      if (!owner) {
        gone.push(name);
        continue;
      }
      const delta = this.adopted ? undefined : before ? counterDelta(before, row.counters) : row.counters;
      const o: Observation = { service: owner.service, slot: name, owner, delta, sessions: row.sessions, queue: row.queue, responseTimeMs: row.responseTimeMs };
      if (holds && saysNothing(o) && !holds(name)) (this.sample.listed ??= new Set()).add(o.service);
      else observations.push(o);
    }
  }
}

/** Nothing happened on the line and it holds no gauge: no request, session, queue or response time. */
export function saysNothing(o: Observation): boolean {
  if (o.sessions !== 0 || o.queue !== 0 || (o.responseTimeMs ?? 0) !== 0) return false;
  if (!o.delta) return true;
  for (const name of COUNTERS) if (o.delta[name] !== 0) return false;
  return true;
}

function isNewProcess(before: ProcessInfo, now: ProcessInfo): boolean {
  if (before.pid !== undefined && now.pid !== undefined && before.pid !== now.pid) return true;
  return before.uptimeS !== undefined && now.uptimeS !== undefined && now.uptimeS < before.uptimeS;
}

/** Whether the process started within the last `ms` (uptime is in whole seconds: one second of slack). */
function youngerThan(info: ProcessInfo, ms: number): boolean {
  return info.uptimeS !== undefined && info.uptimeS <= ms / 1000 + 1;
}
