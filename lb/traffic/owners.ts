import type { HaproxyDesired } from '../haproxy/desired.js';
import type { RouteModel } from '../routes/model.js';

/** Who a HAProxy server slot's traffic belongs to. */
export interface SlotOwner {
  service: string;
  /** `<host>/<container>`: the endpoint's key below its service (as in `endpoints/<service>/<host>/<container>`). */
  endpoint: string;
  /** Set for a Route backend's slot: the route, and the version its group asked for (null: any version). */
  route?: string;
  version?: string | null;
}

/** `backend/server` → owner, and `backend` → service for the backend lines (their queue). */
export interface SlotOwners {
  slots: Map<string, SlotOwner>;
  backends: Map<string, string>;
}

/**
 * Pure: the router's own naming read backwards. A service's backend (`svc_<name>`, or a spare taken
 * at run time, lb/haproxy/spares.ts) holds `<host>/<container>` slots; a Route's backend
 * (`route_<name>`) holds `<service>/<host>/<container>` slots, each in the group of (service,
 * version) the route model put it in. Empty slots and free spares belong to no one.
 */
export function slotOwners(desired: HaproxyDesired, routes: readonly RouteModel[] | undefined): SlotOwners {
  const versions = new Map<string, Map<string, string | null>>();
  for (const route of routes ?? []) {
    const byKey = new Map<string, string | null>();
    for (const group of route.groups) for (const server of group.servers) byKey.set(server.key, group.version ?? null);
    versions.set(route.name, byKey);
  }
  const slots = new Map<string, SlotOwner>();
  const backends = new Map<string, string>();
  for (const backend of desired.backends) {
    if (backend.free) continue;
    if (!backend.route) backends.set(backend.name, backend.service);
    for (const server of backend.servers) {
      if (!server.endpoint) continue;
      const name = `${backend.name}/${server.name}`;
      if (!backend.route) {
        slots.set(name, { service: backend.service, endpoint: server.endpoint });
        continue;
      }
      const slash = server.endpoint.indexOf('/');
      const service = server.endpoint.slice(0, slash);
      const version = versions.get(backend.route)?.get(server.endpoint) ?? null;
      slots.set(name, { service, endpoint: server.endpoint.slice(slash + 1), route: backend.route, version });
    }
  }
  return { slots, backends };
}
