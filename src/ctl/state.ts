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
import { type CertRecord, recordVersion } from '../tls/cert-record.js';

/** What a router's status key (`status/routers/<id>`) says it serves. */
export interface RouterCerts {
  routerId: string;
  certs: Array<{ name: string; version: string; targets: string[] }>;
}

/** The parts of the keyspace `fabric get` reads, decoded; keys that do not decode are listed, not fatal. */
export interface ClusterState {
  services: ServiceSpec[];
  routes: RouteSpec[];
  endpoints: Endpoint[];
  hosts: HostRecord[];
  /** VIP address → service name (`vips/<address>`). */
  vips: Map<string, string>;
  /** Certificates (key still encrypted) with their record version. */
  certs: Array<{ record: CertRecord; version: string }>;
  /** What each live router serves (its status key). */
  routers: RouterCerts[];
  /** `key: reason` for every value skipped. */
  skipped: string[];
}

export type StatePart = 'services' | 'routes' | 'endpoints' | 'hosts' | 'vips' | 'certs' | 'routers';

const ROOTS: Record<StatePart, string> = {
  services: Keys.servicesRoot,
  routes: Keys.routesRoot,
  endpoints: Keys.endpointsRoot,
  hosts: Keys.hostsRoot,
  vips: Keys.vipsRoot,
  certs: Keys.certsRoot,
  routers: Keys.routerStatusRoot,
};

export async function readState(kv: Namespace, parts: StatePart[]): Promise<ClusterState> {
  const state: ClusterState = { services: [], routes: [], endpoints: [], hosts: [], vips: new Map(), certs: [], routers: [], skipped: [] };
  const listed = await Promise.all(parts.map(async (part) => ({ part, kvs: (await etcdCall('read', ROOTS[part], () => listPrefix(kv, ROOTS[part]))).kvs })));
  for (const { part, kvs } of listed) {
    for (const entry of kvs) decodeInto(state, part, entry);
  }
  return state;
}

function decodeInto(state: ClusterState, part: StatePart, entry: IKeyValue): void {
  const key = entry.key.toString();
  const raw = entry.value.toString();
  if (part === 'routers') {
    const routers = routerCerts(key, raw);
    if (routers) state.routers.push(routers);
    return;
  }
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
    case 'cert':
      state.certs.push({ record: decoded.cert, version: recordVersion(raw) });
      break;
    case 'invalid':
      state.skipped.push(decoded.error);
      break;
    case 'other':
      break;
  }
}

/** A router's status, read leniently: only its id and what it serves (routers of other versions may write more, or less). */
function routerCerts(key: string, raw: string): RouterCerts | undefined {
  try {
    const doc = JSON.parse(raw) as { routerId?: unknown; certs?: unknown };
    const routerId = typeof doc.routerId === 'string' ? doc.routerId : key.slice(Keys.routerStatusRoot.length);
    const certs = Array.isArray(doc.certs)
      ? doc.certs.flatMap((c: { name?: unknown; version?: unknown; targets?: unknown }) =>
          typeof c?.name === 'string'
            ? [{ name: c.name, version: String(c.version ?? ''), targets: Array.isArray(c.targets) ? c.targets.map(String) : [] }]
            : [],
        )
      : [];
    return { routerId, certs };
  } catch {
    return undefined;
  }
}
