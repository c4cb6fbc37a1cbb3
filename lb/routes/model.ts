import { endpointIdentity } from '../../src/keyspace.js';
import type { Endpoint } from '../../src/model/endpoint.js';
import type { RouteSpec } from '../../src/model/service.js';
import { servingState } from '../model/serving.js';
import type { ServiceModel } from '../model/types.js';
import { effectiveShares, serverWeights } from './weights.js';

/** One endpoint of a route backend with the HAProxy weight that gives its group its share. */
export interface RouteServer {
  /** Unique within the route: `<service>/<host>/<container>`. */
  key: string;
  endpoint: Endpoint;
  weight: number;
}

/** One `backends[]` entry of a Route: a service (and version), its weight and its endpoints. */
export interface RouteGroup {
  service: string;
  version: string | undefined;
  /** The weight the spec asks for. */
  weight: number;
  /** The fraction of new requests it gets now (0–1): 0 when none of its endpoints serve. */
  share: number;
  servers: RouteServer[];
}

export interface RouteModel {
  name: string;
  host: string;
  path: string | undefined;
  sticky: boolean;
  /** Whether the route won its host (+ path); a refused route serves nothing. */
  active: boolean;
  groups: RouteGroup[];
  spec: RouteSpec;
  createRevision: number;
}

/**
 * Pure: Route specs + the services' endpoints → each route's groups with
 * server weights. An endpoint joins the first group that matches its service
 * and version (no version: any version), so it is one server of the route.
 */
export function buildRoutes(routes: Array<{ spec: RouteSpec; createRevision: number }>, services: ServiceModel[]): RouteModel[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  return routes
    .map(({ spec, createRevision }) => {
      const taken = new Set<string>();
      const members = spec.backends.map((backend) =>
        (byName.get(backend.service)?.endpoints ?? []).filter((e) => {
          const key = endpointIdentity(e);
          if (taken.has(key) || (backend.version !== undefined && e.version !== backend.version)) return false;
          taken.add(key);
          return true;
        }),
      );
      const weights = serverWeights(
        spec.backends.map((backend, i) => ({
          weight: backend.weight,
          servers: members[i]!.map((e) => ({ weight: e.weight, ready: servingState(e) === 'ready' })),
        })),
      );
      const shares = effectiveShares(weights);
      const groups: RouteGroup[] = spec.backends.map((backend, i) => ({
        service: backend.service,
        version: backend.version,
        weight: backend.weight,
        share: shares[i]!,
        servers: members[i]!.map((endpoint, j) => ({ key: endpointIdentity(endpoint), endpoint, weight: weights[i]![j]! })),
      }));
      return { name: spec.name, host: spec.host, path: spec.path, sticky: spec.sticky ?? false, active: false, groups, spec, createRevision };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
