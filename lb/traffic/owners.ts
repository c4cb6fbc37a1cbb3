import type { Backend, HaproxyDesired } from '../haproxy/desired.js';
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

/** `backend` → its filled slots' owners by server name, and `backend` → service for the backend lines (their queue). */
export interface SlotOwners {
  slots: Map<string, ReadonlyMap<string, SlotOwner>>;
  backends: Map<string, string>;
}

export function slotOwner(owners: SlotOwners, backend: string, server: string): SlotOwner | undefined {
  return owners.slots.get(backend)?.get(server);
}

/** A service backend's owners, kept by its object: a plan keeps an unchanged backend's, so a change rebuilds only its own. */
const serviceSlots = new WeakMap<Backend, ReadonlyMap<string, SlotOwner>>();

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
  const slots = new Map<string, ReadonlyMap<string, SlotOwner>>();
  const backends = new Map<string, string>();
  for (const backend of desired.backends) {
    if (backend.free) continue;
    if (backend.route) {
      slots.set(backend.name, routeSlots(backend, backend.route, versions.get(backend.route)));
      continue;
    }
    backends.set(backend.name, backend.service);
    let owners = serviceSlots.get(backend);
    if (!owners) {
      const built = new Map<string, SlotOwner>();
      for (const server of backend.servers) if (server.endpoint) built.set(server.name, { service: backend.service, endpoint: server.endpoint });
      serviceSlots.set(backend, (owners = built));
    }
    slots.set(backend.name, owners);
  }
  return { slots, backends };
}

function routeSlots(backend: Backend, route: string, versions: Map<string, string | null> | undefined): Map<string, SlotOwner> {
  const owners = new Map<string, SlotOwner>();
  for (const server of backend.servers) {
    if (!server.endpoint) continue;
    const slash = server.endpoint.indexOf('/');
    const service = server.endpoint.slice(0, slash);
    owners.set(server.name, { service, endpoint: server.endpoint.slice(slash + 1), route, version: versions?.get(server.endpoint) ?? null });
  }
  return owners;
}
