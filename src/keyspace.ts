/**
 * The etcd keyspace below `--etcd-prefix` (see CONTRACT.md). Keys here are
 * relative: callers work in an etcd3 namespace rooted at the prefix.
 */
export const Keys = {
  endpointsRoot: 'endpoints/',
  hostsRoot: 'hosts/',
  servicesRoot: 'services/',
  routesRoot: 'routes/',
  vipsRoot: 'vips/',
  routerStatusRoot: 'status/routers/',
  certsRoot: 'certs/',
  acmeRoot: 'acme/',
  acmeRenewRoot: 'acme/renew/',

  endpoint: (service: string, host: string, container: string) => `endpoints/${service}/${host}/${container}`,
  host: (host: string) => `hosts/${host}`,
  service: (name: string) => `services/${name}`,
  route: (name: string) => `routes/${name}`,
  vip: (address: string) => `vips/${address}`,
  routerStatus: (routerId: string) => `status/routers/${routerId}`,
  /** A certificate record (src/tls/cert-record.ts): chain, encrypted key, validity, source. */
  cert: (name: string) => `certs/${name}`,
  /** `fabric cert renew NAME` of an ACME certificate: a request the routers' ACME code honours, then deletes. */
  acmeRenew: (name: string) => `acme/renew/${name}`,
} as const;

export interface EndpointKey {
  service: string;
  host: string;
  container: string;
}

export function parseEndpointKey(key: string): EndpointKey | undefined {
  const parts = key.split('/');
  if (parts.length !== 4 || parts[0] !== 'endpoints') return undefined;
  const [, service, host, container] = parts as [string, string, string, string];
  return service && host && container ? { service, host, container } : undefined;
}

/** `/fabric` → `/fabric/`: the namespace every fabric key lives in. */
export function namespacePrefix(prefix: string): string {
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}
