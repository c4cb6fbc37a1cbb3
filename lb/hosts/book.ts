import type { HostRecord } from '../../src/model/host.js';

/** One host as `GET /v1/hosts` shows it. */
export interface HostView {
  host: string;
  address: string;
  /** The host key is present: the agent's lease is live (the key goes when the lease expires). */
  alive: boolean;
  agentVersion: string;
  started: string;
  /** What the agent registered and refused (null from agents that do not say). */
  containers: { registered: number; rejected: number } | null;
  /** When the router last saw the record change (or vanish). */
  updatedAt: string;
}

/**
 * The hosts the router has seen: live while their key is there, kept as gone
 * (alive: false) after it vanishes, so a dead agent stays visible. At most
 * `maxGone` gone hosts are kept, the longest gone dropped first.
 */
export class HostBook {
  private readonly hosts = new Map<string, HostView>();

  constructor(
    private readonly maxGone = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  put(record: HostRecord): void {
    this.hosts.delete(record.name); // re-inserted: the map's order is the order of last change
    this.hosts.set(record.name, hostView(record, true, new Date(this.now()).toISOString()));
  }

  gone(name: string): void {
    const known = this.hosts.get(name);
    if (!known) return;
    this.hosts.delete(name);
    this.hosts.set(name, { ...known, alive: false, updatedAt: new Date(this.now()).toISOString() });
    const gone = [...this.hosts.values()].filter((h) => !h.alive);
    for (const old of gone.slice(0, Math.max(0, gone.length - this.maxGone))) this.hosts.delete(old.host);
  }

  /** By name. */
  list(): HostView[] {
    return [...this.hosts.values()].sort((a, b) => a.host.localeCompare(b.host));
  }
}

export function hostView(record: HostRecord, alive: boolean, updatedAt: string): HostView {
  return {
    host: record.name,
    address: record.address,
    alive,
    agentVersion: record.agentVersion,
    started: record.started,
    containers: record.containers ?? null,
    updatedAt,
  };
}
