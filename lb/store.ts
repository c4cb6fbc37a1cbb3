import { nextTurn } from '../src/concurrency.js';
import { Keys } from '../src/keyspace.js';
import { decodeEntry, type Entry } from '../src/model/entry.js';

export { decodeEntry, type Entry };

export type EndpointEntry = Entry & { kind: 'endpoint' };
export type ServiceEntry = Entry & { kind: 'service' };

/**
 * One service's keys (its spec and its endpoints), indexed by the store as
 * they change. `generation` changes whenever any of them does, and is never
 * reused (not even across a reset), so a derived result tagged with it stays
 * valid exactly as long as the generation is the same.
 */
export interface ServiceKeys {
  readonly name: string;
  readonly generation: number;
  readonly spec: ServiceEntry | undefined;
  /** By key. */
  readonly endpoints: ReadonlyMap<string, EndpointEntry>;
}

/** The keyspace grouped the way the model reads it: per service, and everything else. */
export interface GroupedKeys {
  services: ReadonlyMap<string, ServiceKeys>;
  /** Routes, VIP holds, undecodable and unrelated keys. */
  others: Iterable<Entry>;
  /** Changes whenever a service is added or removed (never reused); absent: unknown, so never memoized. */
  namesVersion?: number;
}

/** The services' keys in name order. */
export function sortedServiceKeys(keys: GroupedKeys): ServiceKeys[] {
  return [...keys.services.keys()].sort().map((name) => keys.services.get(name)!);
}

interface MutableServiceKeys {
  name: string;
  generation: number;
  spec: ServiceEntry | undefined;
  endpoints: Map<string, EndpointEntry>;
}

export interface KeyChange {
  type: 'put' | 'delete';
  key: string;
  value: string;
  createRevision: number;
}

/**
 * The router's copy of the keyspace, each value decoded once when it arrives.
 * A value that fails to decode is kept as `invalid` so it can be reported,
 * and never reaches a config.
 */
export class KeyStore {
  private readonly entries = new Map<string, Entry>();
  /** The same entries again, grouped per service; the rest in `others`. */
  private readonly services = new Map<string, MutableServiceKeys>();
  private readonly others = new Map<string, Entry>();
  private generations = 0;
  private namesVersion = 0;
  /** Groups a change of the batch under way left empty (removeEmptied). */
  private readonly emptied: MutableServiceKeys[] = [];
  private currentRevision = 0;

  get revision(): number {
    return this.currentRevision;
  }

  get size(): number {
    return this.entries.size;
  }

  values(): IterableIterator<Entry> {
    return this.entries.values();
  }

  get(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  /** The entries grouped per service; each service's generation says whether it changed since it was last read. */
  grouped(): GroupedKeys {
    return { services: this.services, others: this.others.values(), namesVersion: this.namesVersion };
  }

  /** Replaces everything with a snapshot (first list, or re-list after compaction); `decoded`: its entries, decoded beforehand (decodeSnapshot). */
  reset(changes: KeyChange[], revision: number, decoded?: ReadonlyArray<Entry | undefined>): void {
    this.entries.clear();
    this.services.clear();
    this.others.clear();
    this.namesVersion = ++this.generations;
    this.apply(changes, revision, decoded);
  }

  /** Applies watch events; returns whether anything actually changed. */
  apply(changes: KeyChange[], revision: number, decoded?: ReadonlyArray<Entry | undefined>): boolean {
    this.emptied.length = 0;
    let changed = false;
    for (let i = 0; i < changes.length; i++) {
      const change = changes[i]!;
      // Routers' own status (status/routers/…) is their output, not model input: never stored, never an apply.
      if (change.key.startsWith(Keys.routerStatusRoot)) continue;
      const previous = this.entries.get(change.key);
      if (change.type === 'delete') {
        if (!previous) continue;
        this.entries.delete(change.key);
        this.unindex(previous);
        changed = true;
        continue;
      }
      if (previous && previous.raw === change.value) continue;
      const entry = decoded?.[i] ?? decodeEntry(change.key, change.value, change.createRevision);
      this.entries.set(change.key, entry);
      if (previous) this.unindex(previous);
      this.index(entry);
      changed = true;
    }
    this.removeEmptied();
    this.currentRevision = Math.max(this.currentRevision, revision);
    return changed;
  }

  /**
   * Groups left empty go once the whole batch is in: a service's only endpoint replaced (its delete
   * and the new put in one transaction) keeps its group, so the names did not change.
   */
  private removeEmptied(): void {
    for (const group of this.emptied) {
      if (group.spec || group.endpoints.size > 0 || this.services.get(group.name) !== group) continue;
      this.services.delete(group.name);
      this.namesVersion = ++this.generations;
    }
    this.emptied.length = 0;
  }

  private index(entry: Entry): void {
    if (entry.kind === 'endpoint') this.touch(entry.endpoint.service).endpoints.set(entry.key, entry);
    else if (entry.kind === 'service') this.touch(entry.spec.name).spec = entry;
    else this.others.set(entry.key, entry);
  }

  private unindex(entry: Entry): void {
    if (entry.kind === 'endpoint') this.touch(entry.endpoint.service).endpoints.delete(entry.key);
    else if (entry.kind === 'service') this.touch(entry.spec.name).spec = undefined;
    else this.others.delete(entry.key);
    const name = entry.kind === 'endpoint' ? entry.endpoint.service : entry.kind === 'service' ? entry.spec.name : undefined;
    const group = name === undefined ? undefined : this.services.get(name);
    if (group && !group.spec && group.endpoints.size === 0) this.emptied.push(group);
  }

  /** The service's group (created if new), with a fresh generation: something in it is changing. */
  private touch(name: string): MutableServiceKeys {
    let group = this.services.get(name);
    if (!group) {
      group = { name, generation: 0, spec: undefined, endpoints: new Map() };
      this.services.set(name, group);
      this.namesVersion = ++this.generations;
    }
    group.generation = ++this.generations;
    return group;
  }
}

/** Values decoded per slice of decodeSnapshot: ~5 ms each, then the event loop turns. */
const DECODE_SLICE = 1_000;

/** A snapshot's put values decoded in slices, yielding between them; index i is changes[i]'s entry (undefined for a delete). */
export async function decodeSnapshot(changes: readonly KeyChange[]): Promise<Array<Entry | undefined>> {
  const out: Array<Entry | undefined> = new Array(changes.length);
  for (let start = 0; start < changes.length; start += DECODE_SLICE) {
    if (start > 0) await nextTurn();
    const end = Math.min(changes.length, start + DECODE_SLICE);
    for (let i = start; i < end; i++) {
      const change = changes[i]!;
      out[i] =
        change.type === 'put' && !change.key.startsWith(Keys.routerStatusRoot) ? decodeEntry(change.key, change.value, change.createRevision) : undefined;
    }
  }
  return out;
}
