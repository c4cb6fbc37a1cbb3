import type { Endpoint } from '../model/endpoint.js';
import type { HostRecord } from '../model/host.js';
import type { RouteSpec } from '../model/service.js';
import { type CertSummary, certSummary } from '../tls/cert-record.js';
import type { ClusterState, StatePart } from './state.js';
import type { Column } from './table.js';

/** One `fabric get` resource: what it reads, the rows it shows, and their table columns. */
export interface View<Row> {
  parts: StatePart[];
  rows(state: ClusterState): Row[];
  columns: Column<Row>[];
}

export interface ServiceRow {
  name: string;
  mode: string;
  domains: string[];
  endpoints: { up: number; total: number };
  vip: string | null;
  source: Array<'spec' | 'labels'>;
}

/** Taking new requests: up and healthy, or up without a health check (lb/model.ts servingState). */
export function isServing(endpoint: Endpoint): boolean {
  return endpoint.state === 'up' && endpoint.health !== 'unhealthy' && endpoint.health !== 'starting';
}

/** The union of Service specs and services that have endpoints (from labels). */
function serviceRows(state: ClusterState): ServiceRow[] {
  const specs = new Map(state.services.map((s) => [s.name, s]));
  const endpointsOf = groupBy(state.endpoints, (e) => e.service);
  const vipOf = new Map([...state.vips].map(([address, service]) => [service, address]));
  const names = [...new Set([...specs.keys(), ...endpointsOf.keys()])].sort();
  return names.map((name) => {
    const spec = specs.get(name);
    const endpoints = endpointsOf.get(name) ?? [];
    const labelDomains = endpoints.flatMap((e) => e.domains);
    return {
      name,
      mode: spec?.mode ?? endpoints[0]?.mode ?? 'http',
      domains: [...new Set([...(spec?.domains ?? []), ...labelDomains])],
      endpoints: { up: endpoints.filter(isServing).length, total: endpoints.length },
      vip: vipOf.get(name) ?? null,
      source: [...(spec ? (['spec'] as const) : []), ...(endpoints.length > 0 ? (['labels'] as const) : [])],
    };
  });
}

export const servicesView: View<ServiceRow> = {
  parts: ['services', 'endpoints', 'vips'],
  rows: serviceRows,
  columns: [
    { header: 'name', value: (r) => r.name },
    { header: 'mode', value: (r) => r.mode },
    { header: 'domains', value: (r) => r.domains.join(',') },
    { header: 'endpoints', value: (r) => `${r.endpoints.up}/${r.endpoints.total}` },
    { header: 'vip', value: (r) => r.vip ?? '' },
    { header: 'source', value: (r) => r.source.join(',') },
  ],
};

export const endpointsView: View<Endpoint> = {
  parts: ['endpoints'],
  rows: (state) => [...state.endpoints].sort(byKeys((e) => [e.service, e.host, e.name, e.container])),
  columns: [
    { header: 'service', value: (e) => e.service },
    { header: 'host', value: (e) => e.host },
    { header: 'container', value: (e) => e.name },
    { header: 'address', value: (e) => `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}` },
    { header: 'version', value: (e) => e.version ?? '' },
    { header: 'weight', value: (e) => String(e.weight) },
    { header: 'health', value: (e) => e.health },
    { header: 'state', value: (e) => e.state },
  ],
};

export const routesView: View<RouteSpec> = {
  parts: ['routes'],
  rows: (state) => [...state.routes].sort(byKeys((r) => [r.name])),
  columns: [
    { header: 'name', value: (r) => r.name },
    { header: 'host', value: (r) => `${r.host}${r.path ?? '/'}` },
    { header: 'backends', value: (r) => r.backends.map((b) => `${b.service}${b.version ? `@${b.version}` : ''}=${b.weight}`).join(',') },
    { header: 'sticky', value: (r) => (r.sticky ? 'yes' : 'no') },
  ],
};

export const hostsView: View<HostRecord> = {
  parts: ['hosts'],
  rows: (state) => [...state.hosts].sort(byKeys((h) => [h.name])),
  columns: [
    { header: 'name', value: (h) => h.name },
    { header: 'address', value: (h) => h.address },
    { header: 'agent', value: (h) => h.agentVersion },
    { header: 'started', value: (h) => h.started },
    // Counts from agents that write them (older ones do not: `-`).
    { header: 'registered', value: (h) => (h.containers ? String(h.containers.registered) : '') },
    { header: 'rejected', value: (h) => (h.containers ? String(h.containers.rejected) : h.rejected ? String(h.rejectedTotal ?? h.rejected.length) : '') },
  ],
};

export type CertRow = CertSummary & {
  /** Routers serving it: `<router-id>`, or `<router-id> (older)` while one serves an earlier version of the record. */
  servedBy: Array<{ router: string; targets: string[]; current: boolean }>;
};

/** Certificates with the routers that serve them (their status keys say which, at which version). */
function certRows(state: ClusterState): CertRow[] {
  return [...state.certs]
    .sort((a, b) => a.record.name.localeCompare(b.record.name))
    .map(({ record, version }) => ({
      ...certSummary(record),
      servedBy: state.routers
        .flatMap((r) => r.certs.filter((c) => c.name === record.name).map((c) => ({ router: r.routerId, targets: c.targets, current: c.version === version })))
        .sort((a, b) => a.router.localeCompare(b.router)),
    }));
}

export const certsView: View<CertRow> = {
  parts: ['certs', 'routers'],
  rows: certRows,
  columns: [
    { header: 'name', value: (c) => c.name },
    { header: 'domains', value: (c) => c.domains.join(',') },
    { header: 'issuer', value: (c) => c.issuer },
    { header: 'not after', value: (c) => c.notAfter },
    { header: 'source', value: (c) => c.source },
    { header: 'served by', value: (c) => c.servedBy.map((s) => (s.current ? s.router : `${s.router} (older)`)).join(',') },
  ],
};

/** `fabric get <word>`: plural, singular, or kubectl's short names. */
// biome-ignore lint/suspicious/noExplicitAny: each view has its own row type; callers only pass rows back to the same view
export const VIEWS: Record<string, View<any>> = {
  services: servicesView,
  service: servicesView,
  svc: servicesView,
  endpoints: endpointsView,
  endpoint: endpointsView,
  ep: endpointsView,
  routes: routesView,
  route: routesView,
  hosts: hostsView,
  host: hostsView,
  certs: certsView,
  cert: certsView,
};

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

function byKeys<T>(keys: (item: T) => string[]): (a: T, b: T) => number {
  return (a, b) => {
    const ka = keys(a);
    const kb = keys(b);
    for (let i = 0; i < ka.length; i++) {
      const order = ka[i]!.localeCompare(kb[i]!);
      if (order !== 0) return order;
    }
    return 0;
  };
}
