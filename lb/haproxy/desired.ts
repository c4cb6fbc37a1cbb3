import type { Endpoint } from '../../src/model/endpoint.js';
import { speaksH2c } from '../../src/model/proto.js';
import { type BackendCheck, backendCheck, sameBackendCheck } from '../health/backend-check.js';
import type { CheckDefaults } from '../health/spec.js';
import { type Balance, type Model, type ModelEndpoint, type ServiceModel, type ServingState, servingState } from '../model.js';
import { policyKey, routePolicyLines, servicePolicyLines } from '../policy/backend.js';
import type { RouteModel } from '../routes/model.js';
import type { TlsDesired } from '../tls/haproxy-desired.js';
import {
  type BackendPool,
  backendsByService,
  type PoolEntry,
  type PooledService,
  type PoolPlan,
  type PoolSettings,
  planPool,
  serviceBackendName,
  serviceEntryIndex,
} from './spares.js';

/** One server line of a backend: a slot, filled by an endpoint or empty. */
export interface ServerSlot {
  name: string;
  /** The endpoint key in this slot; undefined for an empty slot. */
  endpoint: string | undefined;
  address: string;
  port: number;
  weight: number;
  state: ServingState;
}

export interface Backend {
  name: string;
  service: string;
  mode: 'http' | 'tcp';
  balance: Balance;
  servers: ServerSlot[];
  /** Set on a Route's backend (`route_<name>`); `service` is then its first backend's service. */
  route?: string;
  /** Sticky sessions: the cookie HAProxy inserts (`FABRIC_<route>`); each server's value is its slot name. */
  cookie?: string;
  /** An empty pool backend (lb/haproxy/spares.ts): `service` is then '' or the `svc_` backend's old service. */
  free?: true;
  /** A spare backend (`spare_…`), free or taken by `service` at run time. */
  spare?: true;
  /** HAProxy runs this service's health check itself (lb/health/haproxy-checks.ts); absent: the router does. */
  check?: BackendCheck;
  /** Its service's traffic policies as backend lines (lb/policy): fixed at load time, so such a backend is never a plain spare. */
  policy?: string[];
  /** `h2`: its servers speak cleartext HTTP/2 (`proto: h2c`, src/model/proto.ts); fixed at load time. */
  proto?: 'h2';
}

/** A frontend of its own for a service's VIP: `bind address:port`, straight to the service's backend. */
export interface VipFrontend {
  name: string;
  service: string;
  address: string;
  port: number;
  mode: 'http' | 'tcp';
  backend: string;
}

/** Everything HAProxy should run; the template renders it and the diff compares it. */
export interface HaproxyDesired {
  backends: Backend[];
  /** `host backend`, exact host matches. */
  hostMap: Array<[string, string]>;
  /** `host/path backend`, longest prefix first. */
  pathMap: Array<[string, string]>;
  /** One per service with a VIP, by service name. Absent: none. */
  frontends?: VipFrontend[];
  /** The HTTPS frontend's certificates and TLS maps (lb/tls/haproxy-desired.ts). Absent: no HTTPS. */
  tls?: TlsDesired;
  /** `token key-authorization`: ACME HTTP-01 answers (lb/tls/acme), by token. Absent: none. */
  acmeMap?: Array<[string, string]>;
}

/** Slot assignment remembered between applies, per backend: its size and endpoint key → slot index. */
export type SlotTable = Map<string, BackendSlots>;

export interface BackendSlots {
  size: number;
  byEndpoint: Map<string, number>;
  /**
   * The free slots, the longest free first; absent (adoption): every free slot in index order.
   * A new endpoint takes the front one and never one its own plan frees: HAProxy 2.6 puts a
   * connection that was in flight at `set server … addr` back in the slot's idle pool afterwards,
   * still to the old address, and sends the slot's next requests over it (measured: a replaced
   * endpoint's old server kept answering for 0.3–2.2 s; HAProxy 3.3 fixed it, commit 67df6577).
   * A freed slot waits in maintenance, where nothing picks it, and the `set server … addr` that
   * refills it purges whatever came back meanwhile.
   */
  free?: number[];
}

const MIN_SLOTS = 4;
const EMPTY_ADDRESS = '127.0.0.1';
const EMPTY_PORT = 1;

export function backendName(service: string): string {
  return serviceBackendName(service);
}

export function routeBackendName(route: string): string {
  return `route_${route}`;
}

/**
 * What `desiredHaproxy` may reuse from the previous plan, owned by the target:
 * a service's backend is the same object again when the service model is the
 * same object (the model memo keeps it) and its slot assignment is the one
 * that plan made; the maps, when the host rules and every service are the same.
 * The diff then skips identical backends. Never changes the result.
 */
export class DesiredMemo {
  /** `service` undefined: a free pool backend. */
  backends = new Map<string, MemoBackend>();
  /**
   * The last plan's backends by position, with what each was planned for (its pool entry, or its
   * service without a pool) and the slot table it returned: while a position holds the same object
   * and the target passes that table back, the backend there is found without a lookup by name.
   */
  aligned: { slots: SlotTable; carriers: object[]; backends: MemoBackend[] } | undefined;
  maps:
    | { hostRules: Model['hostRules']; services: ServiceModel[]; pool?: BackendPool; hostMap: HaproxyDesired['hostMap']; pathMap: HaproxyDesired['pathMap'] }
    | undefined;
  /** Each service's HAProxy-run check, while the service model is the same object. */
  checks = new WeakMap<ServiceModel, BackendCheck | undefined>();
  /** What the pool reads of each service (pooledServices), while the service model is the same object. */
  pooled = new WeakMap<ServiceModel, PooledService>();
  /** Backends built afresh by the last plan (the rest were reused): for tests. */
  built: string[] = [];
}

interface MemoBackend {
  service: ServiceModel | undefined;
  slots: BackendSlots;
  backend: Backend;
}

/**
 * Pure: the model → HAProxy's desired state. Endpoints keep the slot they had
 * (so a change is a runtime update of one slot); new ones take free slots;
 * a backend grows, by half again, only when its slots run out.
 */
export function desiredHaproxy(
  model: Model,
  previous: SlotTable,
  memo?: DesiredMemo,
  spares?: SparesInput,
  checks?: CheckDefaults,
): { desired: HaproxyDesired; slots: SlotTable; pool?: PoolPlan } {
  const checkOf = (service: ServiceModel): BackendCheck | undefined => {
    if (!checks) return undefined;
    if (!memo) return backendCheck(service, checks);
    if (!memo.checks.has(service)) memo.checks.set(service, backendCheck(service, checks));
    return memo.checks.get(service);
  };
  const pooled = spares ? planPool(spares.previous, pooledServices(model.services, checkOf, memo), spares.settings, spares.compact) : undefined;
  const names = pooled ? backendsByService(pooled.pool) : undefined;
  const nameOf = (service: string) => names?.get(service) ?? backendName(service);
  const slots: SlotTable = new Map();
  const fill = (name: string, members: Array<{ key: string; endpoint: Endpoint; weight: number }>, ownCheck = false): ServerSlot[] => {
    const assignment = assignSlots(
      previous.get(name),
      members.map((m) => m.key),
    );
    slots.set(name, assignment);
    const servers: ServerSlot[] = Array.from({ length: assignment.size }, (_, i) => emptySlot(i));
    for (const { key, endpoint, weight } of members) {
      const index = assignment.byEndpoint.get(key)!;
      const state = ownCheck ? servingStateBesidesCheck(endpoint) : servingState(endpoint);
      servers[index] = { name: slotName(index), endpoint: key, address: endpoint.address, port: endpoint.port, weight, state };
    }
    return servers;
  };
  // The memo's backends are updated in place: a fresh map of every backend per change cost more than the pass.
  const memoBackends: DesiredMemo['backends'] = memo?.backends ?? new Map();
  if (memo) memo.built = [];
  const aligned = memo?.aligned?.slots === previous ? memo.aligned : undefined;
  const carriers: object[] = [];
  const planned: MemoBackend[] = [];
  /** `carrier`: the pool entry, or the service without a pool, planned at this position. */
  const serviceBackend = (carrier: object, service: ServiceModel | undefined, entry?: PoolEntry): Backend => {
    const at = carriers.length;
    carriers.push(carrier);
    const hint = aligned?.carriers[at] === carrier ? aligned.backends[at] : undefined;
    // The same carrier at the same position: the same backend name, not made again.
    const name = hint ? hint.backend.name : entry ? entry.name : backendName(service!.name);
    const last = hint ?? memoBackends.get(name);
    // A hint's slots are `previous`'s for its backend: that plan returned `previous`.
    const sameSlots = last !== undefined && (last === hint || previous.get(name) === last.slots);
    if (last && sameSlots && last.service === service && (!entry || sameEntry(last.backend, entry))) {
      slots.set(name, last.slots);
      planned.push(last);
      return last.backend;
    }
    const members = (service?.endpoints ?? []).map((e) => ({ key: `${e.host}/${e.container}`, endpoint: e, weight: e.weight }));
    const check = service ? checkOf(service) : entry!.check;
    const servers = fill(name, members, check !== undefined);
    const backend: Backend = service
      ? { name, service: service.name, mode: service.mode, balance: service.balance, servers }
      : { name, service: entry!.owner ?? '', mode: entry!.mode, balance: entry!.balance, servers, free: true };
    if (check) backend.check = check;
    const policy = service ? servicePolicyLines(service) : entry?.policy;
    if (policy && policy.length > 0) backend.policy = policy;
    const proto = service ? protoOf(service) : entry?.proto;
    if (proto) backend.proto = proto;
    if (entry && entry.owner === undefined) backend.spare = true;
    const kept = { service, slots: slots.get(name)!, backend };
    memoBackends.set(name, kept);
    planned.push(kept);
    memo?.built.push(name);
    return backend;
  };
  const backends: Backend[] = pooled
    ? pooledBackends(pooled.pool, model.services, serviceBackend)
    : model.services.map((service) => serviceBackend(service, service));
  if (memo) memo.aligned = { slots, carriers, backends: planned };
  // What the memo holds of backends no longer planned (a compacted pool, a removed service) goes.
  if (memoBackends.size > backends.length) {
    const names = new Set(backends.map((b) => b.name));
    for (const name of memoBackends.keys()) if (!names.has(name)) memoBackends.delete(name);
  }
  const routes = (model.weightedRoutes ?? []).filter((r) => r.active);
  backends.push(...routes.map((route) => routeBackend(route, fill)));
  const lastMaps = memo?.maps;
  const maps =
    lastMaps && lastMaps.hostRules === model.hostRules && lastMaps.pool === pooled?.pool && sameModes(lastMaps.services, model.services)
      ? lastMaps
      : { hostRules: model.hostRules, services: model.services, ...(pooled ? { pool: pooled.pool } : {}), ...hostMaps(model, nameOf) };
  if (memo) memo.maps = maps;
  const acmeMap = model.acme?.challenges ?? [];
  const desired = { backends, hostMap: maps.hostMap, pathMap: maps.pathMap, frontends: vipFrontends(model, nameOf), acmeMap };
  return { desired, slots, ...(pooled ? { pool: pooled } : {}) };
}

/** Host → backend and host/path → backend, for the HTTP services and active routes. */
function hostMaps(model: Model, nameOf: (service: string) => string): Pick<HaproxyDesired, 'hostMap' | 'pathMap'> {
  const httpServices = new Set(model.services.filter((s) => s.mode === 'http').map((s) => s.name));
  const hostMap: Array<[string, string]> = [];
  const pathMap: Array<[string, string]> = [];
  for (const rule of model.hostRules) {
    if (!rule.route && !httpServices.has(rule.service)) continue;
    const backend = rule.route ? routeBackendName(rule.route) : nameOf(rule.service);
    if (rule.path) pathMap.push([`${rule.host}${rule.path}`, backend]);
    else hostMap.push([rule.host, backend]);
  }
  hostMap.sort(([a], [b]) => a.localeCompare(b));
  pathMap.sort(([a], [b]) => b.length - a.length || a.localeCompare(b));
  return { hostMap, pathMap };
}

/** Of the services, only their names and modes matter to the maps. */
function sameModes(a: ServiceModel[], b: ServiceModel[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i] || (x.name === b[i]!.name && x.mode === b[i]!.mode));
}

type Fill = (name: string, members: Array<{ key: string; endpoint: Endpoint; weight: number }>) => ServerSlot[];

/**
 * A Route's backend: every endpoint of its groups, each weighted for its
 * group's share (lb/routes/weights.ts). Moving the route's weights only
 * changes server weights: a Runtime API update, no reload.
 */
function routeBackend(route: RouteModel, fill: Fill): Backend {
  const name = routeBackendName(route.name);
  const members = route.groups.flatMap((g) => g.servers.map((s) => ({ key: s.key, endpoint: s.endpoint, weight: s.weight })));
  // The route's own policies (docs/routing.md): its services' policies stay on their svc_ backends.
  const policy = routePolicyLines(route);
  return {
    name,
    service: route.groups[0]!.service,
    mode: 'http',
    balance: 'roundrobin',
    servers: fill(name, members),
    route: route.name,
    ...(route.sticky ? { cookie: `FABRIC_${route.name}` } : {}),
    ...(policy.length > 0 ? { policy } : {}),
  };
}

/** The pool's backends in config order, each filled by the service the pool placed in it (or free). */
function pooledBackends(
  pool: BackendPool,
  services: readonly ServiceModel[],
  serviceBackend: (carrier: object, service: ServiceModel | undefined, entry: PoolEntry) => Backend,
): Backend[] {
  // By entry index: a lookup in the pool's (cached) index per service, not a fresh map of every service per change.
  const index = serviceEntryIndex(pool);
  const placed: Array<ServiceModel | undefined> = new Array(pool.entries.length);
  for (const service of services) {
    const at = index.get(service.name);
    if (at !== undefined) placed[at] = service;
  }
  return pool.entries.map((entry, i) => serviceBackend(entry, entry.service === undefined ? undefined : placed[i], entry));
}

function vipFrontends(model: Model, nameOf: (service: string) => string): VipFrontend[] {
  const frontends: VipFrontend[] = [];
  for (const service of model.services) {
    if (!service.vip) continue;
    const { address, port } = service.vip;
    frontends.push({ name: `vip_${service.name}`, service: service.name, address, port, mode: service.mode, backend: nameOf(service.name) });
  }
  return frontends;
}

/** The spares a plan draws on: the remembered pool, the target's settings, and whether this plan reloads anyway. */
export interface SparesInput {
  previous: BackendPool | undefined;
  settings: PoolSettings;
  compact: boolean;
}

/** A memoized backend is reused only while the pool entry behind it is the same kind. */
function sameEntry(backend: Backend, entry: PoolEntry): boolean {
  return (
    backend.mode === entry.mode &&
    backend.balance === entry.balance &&
    sameBackendCheck(backend.check, entry.check) &&
    policyKey(backend.policy) === policyKey(entry.policy) &&
    backend.proto === entry.proto
  );
}

/** `proto h2` on the server lines of an h2c service (HTTP only; the spec grammar refuses it on TCP). */
function protoOf(service: ServiceModel): 'h2' | undefined {
  return service.mode === 'http' && speaksH2c(service.spec) ? 'h2' : undefined;
}

/** What the pool reads of each service, with the check HAProxy runs for it (its spare must run the same). */
function pooledServices(services: readonly ServiceModel[], checkOf: (s: ServiceModel) => BackendCheck | undefined, memo?: DesiredMemo): PooledService[] {
  if (!memo) return services.map((s) => pooledService(s, checkOf));
  return services.map((s) => {
    let pooled = memo.pooled.get(s);
    if (!pooled) memo.pooled.set(s, (pooled = pooledService(s, checkOf)));
    return pooled;
  });
}

function pooledService(s: ServiceModel, checkOf: (s: ServiceModel) => BackendCheck | undefined): PooledService {
  const check = checkOf(s);
  const policy = servicePolicyLines(s);
  const proto = protoOf(s);
  if (!check && policy.length === 0 && !proto) return s;
  return {
    name: s.name,
    mode: s.mode,
    balance: s.balance,
    ...(check ? { check } : {}),
    ...(policy.length > 0 ? { policy } : {}),
    ...(proto ? { proto } : {}),
  };
}

function assignSlots(before: BackendSlots | undefined, keys: string[]): BackendSlots {
  const byEndpoint = new Map<string, number>();
  const used = new Set<number>();
  for (const key of keys) {
    const slot = before?.byEndpoint.get(key);
    if (slot !== undefined) {
      byEndpoint.set(key, slot);
      used.add(slot);
    }
  }
  // Never shrink while running: a smaller backend would need a reload. (Kept slots are below the old size.)
  let size = Math.max(MIN_SLOTS, before?.size ?? 0);
  const taken = new Set(before?.byEndpoint.values());
  // Free before this plan, longest first; what this plan frees goes behind them.
  const queue = before?.free ? [...before.free] : range(size).filter((slot) => !taken.has(slot));
  const freedNow = [...taken].filter((slot) => !used.has(slot)).sort((a, b) => a - b);
  let head = 0;
  for (const key of keys) {
    if (byEndpoint.has(key)) continue;
    if (head === queue.length) {
      const from = size;
      size = grownSize(size);
      for (let slot = from; slot < size; slot++) queue.push(slot);
    }
    byEndpoint.set(key, queue[head++]!);
  }
  return { size, byEndpoint, free: [...queue.slice(head), ...freedNow] };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * Where HAProxy runs the check, a failing one must not put the slot in maintenance: HAProxy stops
 * checking servers in maintenance, so it would never come back. HAProxy takes it out of rotation itself.
 */
function servingStateBesidesCheck(endpoint: ModelEndpoint): ServingState {
  return endpoint.activeHealth === 'unhealthy' ? servingState({ ...endpoint, activeHealth: undefined }) : servingState(endpoint);
}

/**
 * The next size when slots run out: half as many again, rounded up to a multiple of 4 (4, 8, 12, 20,
 * 32, 48, …). Doubling left 10 endpoints in 16 slots; each slot is a server HAProxy keeps in memory
 * and counts a descriptor for (its check), so at 100,000 endpoints the factor is 40,000 servers.
 */
function grownSize(size: number): number {
  return Math.ceil((size * 1.5) / 4) * 4;
}

function slotName(index: number): string {
  return `s${index + 1}`;
}

function emptySlot(index: number): ServerSlot {
  return { name: slotName(index), endpoint: undefined, address: EMPTY_ADDRESS, port: EMPTY_PORT, weight: 1, state: 'maint' };
}
