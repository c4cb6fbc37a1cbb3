import { describeError } from '../src/errors.js';
import { Keys, parseEndpointKey } from '../src/keyspace.js';
import { decodeEndpoint, type Endpoint } from '../src/model/endpoint.js';
import { decodeJson } from '../src/model/codec.js';
import { routeSpecSchema, serviceSpecSchema, type RouteSpec, type ServiceSpec } from '../src/model/service.js';

interface EntryBase {
  key: string;
  /** The value as etcd holds it: an identical put is not a change. */
  raw: string;
  /** Older claims win domain conflicts. */
  createRevision: number;
}

export type Entry = EntryBase &
  (
    | { kind: 'endpoint'; endpoint: Endpoint }
    | { kind: 'service'; spec: ServiceSpec }
    | { kind: 'route'; spec: RouteSpec }
    | { kind: 'other' }
    | { kind: 'invalid'; error: string }
  );

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

  /** Replaces everything with a snapshot (first list, or re-list after compaction). */
  reset(changes: KeyChange[], revision: number): void {
    this.entries.clear();
    this.apply(changes, revision);
  }

  /** Applies watch events; returns whether anything actually changed. */
  apply(changes: KeyChange[], revision: number): boolean {
    let changed = false;
    for (const change of changes) {
      if (change.type === 'delete') {
        changed = this.entries.delete(change.key) || changed;
        continue;
      }
      const previous = this.entries.get(change.key);
      if (previous && previous.raw === change.value) continue;
      this.entries.set(change.key, decodeEntry(change.key, change.value, change.createRevision));
      changed = true;
    }
    this.currentRevision = Math.max(this.currentRevision, revision);
    return changed;
  }
}

export function decodeEntry(key: string, raw: string, createRevision: number): Entry {
  const base = { key, raw, createRevision };
  try {
    if (key.startsWith(Keys.endpointsRoot)) {
      const endpoint = decodeEndpoint(key, raw);
      const parsed = parseEndpointKey(key);
      if (!parsed || parsed.service !== endpoint.service || parsed.container !== endpoint.container) {
        throw new Error(`${key}: key does not match the endpoint's service and container`);
      }
      return { ...base, kind: 'endpoint', endpoint };
    }
    if (key.startsWith(Keys.servicesRoot)) {
      const spec = decodeJson(serviceSpecSchema, key, raw);
      if (Keys.service(spec.name) !== key) throw new Error(`${key}: name "${spec.name}" does not match the key`);
      return { ...base, kind: 'service', spec };
    }
    if (key.startsWith(Keys.routesRoot)) {
      const spec = decodeJson(routeSpecSchema, key, raw);
      if (Keys.route(spec.name) !== key) throw new Error(`${key}: name "${spec.name}" does not match the key`);
      return { ...base, kind: 'route', spec };
    }
    return { ...base, kind: 'other' };
  } catch (err) {
    return { ...base, kind: 'invalid', error: describeError(err) };
  }
}
