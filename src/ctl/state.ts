import type { IKeyValue, Namespace } from 'etcd3';
import { describeError } from '../errors.js';
import { listPrefix } from '../etcd.js';
import { etcdCall } from '../etcd-errors.js';
import { Keys } from '../keyspace.js';
import { decodeJson } from '../model/codec.js';
import type { Endpoint } from '../model/endpoint.js';
import { decodeEntry } from '../model/entry.js';
import { type HostRecord, hostRecordSchema } from '../model/host.js';
import type { RouteSpec, ServiceSpec } from '../model/service.js';

/** The parts of the keyspace `fabric get` reads, decoded; keys that do not decode are listed, not fatal. */
export interface ClusterState {
  services: ServiceSpec[];
  routes: RouteSpec[];
  endpoints: Endpoint[];
  hosts: HostRecord[];
  /** VIP address → service name (`vips/<address>`). */
  vips: Map<string, string>;
  /** `key: reason` for every value skipped. */
  skipped: string[];
}

export type StatePart = 'services' | 'routes' | 'endpoints' | 'hosts' | 'vips';

const ROOTS: Record<StatePart, string> = {
  services: Keys.servicesRoot,
  routes: Keys.routesRoot,
  endpoints: Keys.endpointsRoot,
  hosts: Keys.hostsRoot,
  vips: Keys.vipsRoot,
};

export async function readState(kv: Namespace, parts: StatePart[]): Promise<ClusterState> {
  const state: ClusterState = { services: [], routes: [], endpoints: [], hosts: [], vips: new Map(), skipped: [] };
  const listed = await Promise.all(parts.map(async (part) => ({ part, kvs: (await etcdCall('read', ROOTS[part], () => listPrefix(kv, ROOTS[part]))).kvs })));
  for (const { part, kvs } of listed) {
    for (const entry of kvs) decodeInto(state, part, entry);
  }
  return state;
}

function decodeInto(state: ClusterState, part: StatePart, entry: IKeyValue): void {
  const key = entry.key.toString();
  const raw = entry.value.toString();
  if (part === 'hosts') {
    try {
      state.hosts.push(decodeJson(hostRecordSchema, key, raw));
    } catch (err) {
      state.skipped.push(describeError(err));
    }
    return;
  }
  // The router's own decoder: `fabric get` shows exactly what routers accept.
  const decoded = decodeEntry(key, raw, Number(entry.create_revision));
  switch (decoded.kind) {
    case 'service':
      state.services.push(decoded.spec);
      break;
    case 'route':
      state.routes.push(decoded.spec);
      break;
    case 'endpoint':
      state.endpoints.push(decoded.endpoint);
      break;
    case 'vip':
      state.vips.set(decoded.address, decoded.service);
      break;
    case 'invalid':
      state.skipped.push(decoded.error);
      break;
    case 'other':
      break;
  }
}
