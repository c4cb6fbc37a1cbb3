import type { Namespace } from 'etcd3';
import { mapConcurrent } from '../concurrency.js';
import { etcdCall } from '../etcd-errors.js';
import { Keys, parseEndpointKey } from '../keyspace.js';
import type { Resource } from './documents.js';

/** A Route backend naming a service nothing defines yet. */
export interface MissingBackend {
  route: string;
  service: string;
}

/** Pure: every Route backend whose service is neither in `existing` nor defined by the files themselves. */
export function missingBackends(resources: Resource[], existing: ReadonlySet<string>): MissingBackend[] {
  const defined = new Set(resources.filter((r) => r.kind === 'Service').map((r) => r.name));
  const missing: MissingBackend[] = [];
  for (const resource of resources) {
    if (resource.kind !== 'Route') continue;
    for (const service of new Set(resource.spec.backends.map((b) => b.service))) {
      if (!defined.has(service) && !existing.has(service)) missing.push({ route: resource.name, service });
    }
  }
  return missing;
}

/** Pure: the services Routes name that the files do not define: the ones to look for in etcd. */
export function undefinedBackends(resources: Resource[]): string[] {
  return [...new Set(missingBackends(resources, new Set()).map((m) => m.service))];
}

const LOOKUPS_IN_FLIGHT = 16;

/**
 * The services etcd knows: by spec (`services/<name>`) or by endpoints (`endpoints/<name>/…`, or
 * `hosts/<host>/endpoints/<name>/…`), as the router does: one small read per name, keys only, and
 * one keys-only read of `hosts/` (the host sits before the service in those keys).
 */
export async function existingServices(kv: Namespace, names: string[]): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  const hostScoped = etcdCall('read', Keys.hostsRoot, () => kv.getAll().prefix(Keys.hostsRoot).keys()).then(
    (keys) => new Set(keys.flatMap((key) => parseEndpointKey(key)?.service ?? [])),
  );
  hostScoped.catch(() => undefined); // awaited only by names not found otherwise
  const found = await mapConcurrent(names, LOOKUPS_IN_FLIGHT, async (name) => {
    const endpointsOf = `${Keys.endpointsRoot}${name}/`;
    const [spec, endpoints] = await Promise.all([
      etcdCall('read', Keys.service(name), () => kv.get(Keys.service(name)).exists()),
      etcdCall('read', endpointsOf, () => kv.getAll().prefix(endpointsOf).limit(1).keys()),
    ]);
    return spec || endpoints.length > 0 || (await hostScoped).has(name) ? name : undefined;
  });
  return new Set(found.filter((name): name is string => name !== undefined));
}

export function describeMissingBackend({ route, service }: MissingBackend): string {
  return `route/${route}: backend service "${service}" does not exist (no Service spec, no endpoints); applied anyway, it gets no traffic until the service exists`;
}
