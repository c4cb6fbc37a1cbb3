import type { IKeyValue, Namespace } from 'etcd3';
import { listPrefix } from '../etcd.js';
import { etcdCall } from '../etcd-errors.js';
import { Keys, parseEndpointKey } from '../keyspace.js';
import type { Endpoint } from '../model/endpoint.js';
import { decodeEntry, type Entry } from '../model/entry.js';
import type { HostRecord } from '../model/host.js';
import { uniqueEndpoints, uniqueHosts } from '../model/layouts.js';
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

/** Where each part lives; endpoints and host records in both key layouts (hosts/<host>/… and the older one). */
const ROOTS: Record<StatePart, string[]> = {
  services: [Keys.servicesRoot],
  routes: [Keys.routesRoot],
  endpoints: [Keys.endpointsRoot, Keys.hostsRoot],
  hosts: [Keys.hostsRoot],
  vips: [Keys.vipsRoot],
  certs: [Keys.certsRoot],
  routers: [Keys.routerStatusRoot],
};

export async function readState(kv: Namespace, parts: StatePart[]): Promise<ClusterState> {
  const state: ClusterState = { services: [], routes: [], endpoints: [], hosts: [], vips: new Map(), certs: [], routers: [], skipped: [] };
  const roots = [...new Set(parts.flatMap((part) => ROOTS[part]))];
  const listed = await Promise.all(roots.map(async (root) => (await etcdCall('read', root, () => listPrefix(kv, root))).kvs));
  const wanted = new Set(parts);
  const endpoints: Entry[] = [];
  const hosts: Entry[] = [];
  for (const entry of listed.flat()) {
    const decoded = decodeInto(state, wanted, entry);
    if (decoded?.kind === 'endpoint') endpoints.push(decoded);
    if (decoded?.kind === 'host') hosts.push(decoded);
  }
  // One per endpoint and per host, whichever layout holds it (the router's rule: src/model/layouts.ts).
  state.endpoints = uniqueEndpoints(endpoints as Array<Entry & { kind: 'endpoint' }>).map((e) => e.endpoint);
  state.hosts = uniqueHosts(hosts as Array<Entry & { kind: 'host' }>);
  return state;
}

/** One key into the part it belongs to (if asked for); endpoint and host entries are returned for the caller to deduplicate. */
function decodeInto(state: ClusterState, wanted: ReadonlySet<StatePart>, entry: IKeyValue): Entry | undefined {
  const key = entry.key.toString();
  const raw = entry.value.toString();
  if (key.startsWith(Keys.routerStatusRoot)) {
    const routers = routerCerts(key, raw);
    if (routers && wanted.has('routers')) state.routers.push(routers);
    return undefined;
  }
  // The router's own decoder: `fabric get` shows exactly what routers accept.
  const decoded = decodeEntry(key, raw, Number(entry.create_revision));
  switch (decoded.kind) {
    case 'service':
      if (wanted.has('services')) state.services.push(decoded.spec);
      return undefined;
    case 'route':
      if (wanted.has('routes')) state.routes.push(decoded.spec);
      return undefined;
    case 'endpoint':
      return wanted.has('endpoints') ? decoded : undefined;
    case 'host':
      return wanted.has('hosts') ? decoded : undefined;
    case 'vip':
      if (wanted.has('vips')) state.vips.set(decoded.address, decoded.service);
      return undefined;
    case 'cert':
      if (wanted.has('certs')) state.certs.push({ record: decoded.cert, version: recordVersion(raw) });
      return undefined;
    case 'invalid':
      if (wanted.has(partOf(key))) state.skipped.push(decoded.error);
      return undefined;
    case 'other':
      return undefined;
  }
}

/** The part a key belongs to, for reporting one that does not decode. */
function partOf(key: string): StatePart {
  if (key.startsWith(Keys.hostsRoot)) return parseEndpointKey(key) || key.includes('/endpoints/') ? 'endpoints' : 'hosts';
  const found = (Object.entries(ROOTS) as Array<[StatePart, string[]]>).find(([, roots]) => roots.some((r) => key.startsWith(r)));
  return found?.[0] ?? 'services';
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
