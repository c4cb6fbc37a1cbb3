/**
 * The etcd keyspace below `--etcd-prefix` (see CONTRACT.md). Keys here are
 * relative: callers work in an etcd3 namespace rooted at the prefix.
 *
 * Agents write below their host (`hosts/<host>/…`), so etcd's role-based access can confine each
 * one to its own keys. The layout before that (`endpoints/<service>/<host>/<id>`, `hosts/<host>`)
 * is still read for one release, so a cluster can be upgraded agent by agent.
 */
export const Keys = {
  /** The layout before host-scoped keys (read for one release; written by older agents and other registrars). */
  endpointsRoot: 'endpoints/',
  hostsRoot: 'hosts/',
  servicesRoot: 'services/',
  routesRoot: 'routes/',
  vipsRoot: 'vips/',
  routerStatusRoot: 'status/routers/',
  certsRoot: 'certs/',
  acmeRoot: 'acme/',
  acmeRenewRoot: 'acme/renew/',

  /** Everything one agent writes: the prefix its etcd role is confined to. */
  hostRoot: (host: string) => `hosts/${host}/`,
  /** An endpoint as agents write it now. */
  endpoint: (service: string, host: string, container: string) => `hosts/${host}/endpoints/${service}/${container}`,
  /** A host record as agents write it now. */
  hostInfo: (host: string) => `hosts/${host}/info`,
  /** The older layout of an endpoint's key (still read; still what other registrars may write). */
  legacyEndpoint: (service: string, host: string, container: string) => `endpoints/${service}/${host}/${container}`,
  /** The older layout of a host record's key. */
  legacyHost: (host: string) => `hosts/${host}`,
  service: (name: string) => `services/${name}`,
  route: (name: string) => `routes/${name}`,
  vip: (address: string) => `vips/${address}`,
  routerStatus: (routerId: string) => `status/routers/${routerId}`,
  /** A certificate record (src/tls/cert-record.ts): chain, encrypted key, validity, source. */
  cert: (name: string) => `certs/${name}`,
  /** `fabric cert renew NAME` of an ACME certificate: a request the routers' ACME code honours, then deletes. */
  acmeRenew: (name: string) => `acme/renew/${name}`,
} as const;

/** `host`: below `hosts/<host>/` (agents now); `legacy`: the layout before it. */
export type KeyLayout = 'host' | 'legacy';

export interface EndpointKey {
  service: string;
  host: string;
  container: string;
  layout: KeyLayout;
}

/** Either layout's endpoint key → its parts; undefined for any other key. */
export function parseEndpointKey(key: string): EndpointKey | undefined {
  const parts = key.split('/');
  if (parts.length === 4 && parts[0] === 'endpoints') {
    const [, service, host, container] = parts as [string, string, string, string];
    return service && host && container ? { service, host, container, layout: 'legacy' } : undefined;
  }
  if (parts.length === 5 && parts[0] === 'hosts' && parts[2] === 'endpoints') {
    const [, host, , service, container] = parts as [string, string, string, string, string];
    return service && host && container ? { service, host, container, layout: 'host' } : undefined;
  }
  return undefined;
}

/** Either layout's host record key (`hosts/<host>/info`, `hosts/<host>`) → the host; undefined for any other key. */
export function parseHostKey(key: string): { host: string; layout: KeyLayout } | undefined {
  // No split: every key of a snapshot (100,000 endpoints) is asked.
  if (!key.startsWith('hosts/')) return undefined;
  const rest = key.slice('hosts/'.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return rest ? { host: rest, layout: 'legacy' } : undefined;
  if (slash > 0 && rest.length === slash + '/info'.length && rest.endsWith('/info')) return { host: rest.slice(0, slash), layout: 'host' };
  return undefined;
}

/** The same endpoint's or host record's key in the other layout; undefined for any other key. */
export function otherLayoutKey(key: string): string | undefined {
  const endpoint = parseEndpointKey(key);
  if (endpoint) {
    const { service, host, container } = endpoint;
    return endpoint.layout === 'host' ? Keys.legacyEndpoint(service, host, container) : Keys.endpoint(service, host, container);
  }
  const host = parseHostKey(key);
  if (host) return host.layout === 'host' ? Keys.legacyHost(host.host) : Keys.hostInfo(host.host);
  return undefined;
}

/** `<service>/<host>/<container>`: one endpoint whichever layout its key is in (health checks, routes, traffic name it so). */
export function endpointIdentity(e: { service: string; host: string; container: string }): string {
  return `${e.service}/${e.host}/${e.container}`;
}

/** `/fabric` → `/fabric/`: the namespace every fabric key lives in. */
export function namespacePrefix(prefix: string): string {
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}
