import { createHash } from 'node:crypto';
import { type BackendCheck, sameBackendCheck } from '../health/backend-check.js';
import type { Balance, ServiceModel } from '../model.js';
import { policyKey } from '../policy/backend.js';

/**
 * Spare backends: HAProxy 2.6 cannot add a backend at run time, so the config carries
 * empty ones that a new service takes through the Runtime API (its servers by `set server`,
 * its hosts by the host/path maps). Pure: no I/O; the target remembers the pool between
 * applies as it remembers slots.
 *
 * At every reload the pool is laid out afresh ("compacted"): each service in its own
 * `svc_<service>` backend, then the free spares. Between reloads a new service takes a free
 * spare of its kind; a removed service's backend is emptied and returns to the pool
 * (a `svc_<name>` backend only for that same service, so its name never lies).
 */

/** What a backend fixes at load time and a spare must match: only these tell spares apart. */
export interface BackendKind {
  mode: 'http' | 'tcp';
  balance: Balance;
  /** The health check HAProxy runs in this backend (lb/health/backend-check.ts); absent: the router checks. */
  check?: BackendCheck;
  /**
   * Traffic policy lines (lb/policy): a backend with policies is a kind of its own that no spare
   * is laid out for, so a new service with policies, or a changed policy, gets its own `svc_`
   * backend through a reload; never a plain spare that would serve it without them.
   */
  policy?: string[];
  /**
   * `h2`: servers that speak cleartext HTTP/2 (`proto: h2c`). A server's proto is fixed at load
   * time (`set server` cannot change it), so like a policy kind no spare is laid out for it: an
   * h2c service gets its own `svc_` backend through a reload.
   */
  proto?: 'h2';
}

/** All the pool reads of a service, with the check HAProxy would run for it. */
export type PooledService = Pick<ServiceModel, 'name' | 'mode' | 'balance'> & { check?: BackendCheck; policy?: string[]; proto?: 'h2' };

export interface PoolEntry extends BackendKind {
  name: string;
  /** The service served here; undefined: free. */
  service: string | undefined;
  /** `svc_<owner>` backends are reused only by their owner; spares by anyone of their kind. */
  owner: string | undefined;
}

export interface BackendPool {
  /** In config order: the order of the rendered backends, fixed until the next reload. */
  entries: PoolEntry[];
  /** Free spares laid out per kind at the next compaction; doubles each time a kind runs out. */
  reserve: Map<string, number>;
}

export interface PoolSettings {
  /** Free `http`/`roundrobin` spares after each reload. */
  spares: number;
  /** Where HAProxy runs the checks: the check of a service that sets none (the router's defaults), the default spares'. */
  defaultCheck?: BackendCheck;
}

/** Another kind's first service always reloads; then it keeps at least this many spares. */
const MIN_OTHER_KIND = 8;
function defaultKind(settings: PoolSettings): BackendKind {
  return { mode: 'http', balance: 'roundrobin', ...(settings.defaultCheck ? { check: settings.defaultCheck } : {}) };
}

/** `mode/balance/check`: the check as JSON (without its source, which HAProxy does not see), `null` for none. */
export function kindKey(kind: BackendKind): string {
  const check = kind.check ? { ...kind.check, source: undefined } : null;
  return `${kind.mode}/${kind.balance}/${JSON.stringify(check)}`;
}

function parseKind(key: string): BackendKind {
  const first = key.indexOf('/');
  const second = key.indexOf('/', first + 1);
  const check = JSON.parse(key.slice(second + 1)) as BackendCheck | null;
  const kind: BackendKind = { mode: key.slice(0, first) as BackendKind['mode'], balance: key.slice(first + 1, second) as Balance };
  return check ? { ...kind, check: { ...check, source: 'default' } } : kind;
}

export function serviceBackendName(service: string): string {
  return `svc_${service}`;
}

/** Spares with a check other than the default one carry a short digest of it: one name per kind, stable across reloads. */
function spareName(kind: BackendKind, index: number, settings: PoolSettings): string {
  const own = kind.check && !sameBackendCheck(kind.check, settings.defaultCheck);
  const tag = own ? `_c${createHash('sha256').update(kindKey(kind)).digest('hex').slice(0, 8)}` : '';
  return `spare_${kind.mode}_${kind.balance}${tag}_${index + 1}`;
}

export function initialReserve(settings: PoolSettings): Map<string, number> {
  return new Map([[kindKey(defaultKind(settings)), settings.spares]]);
}

export interface PoolPlan {
  pool: BackendPool;
  /** Laid out afresh: the backends' set changed, so this plan needs a reload. */
  compacted: boolean;
}

/**
 * Pure: the pool for these services. Without `compact` it changes only assignments
 * (runtime); it compacts when asked (a reload happens anyway), when there is no pool
 * yet, or when a kind runs out of spares (its reserve doubles first).
 */
export function planPool(previous: BackendPool | undefined, services: readonly PooledService[], settings: PoolSettings, compact: boolean): PoolPlan {
  if (settings.spares === 0) return withoutSpares(previous, services, settings);
  if (!previous) return { pool: compactPool(services, initialReserve(settings), settings), compacted: true };
  if (compact) return { pool: compactPool(services, previous.reserve, settings), compacted: true };
  const assigned = assignInPlace(previous, services);
  if (assigned.kind === 'ran-out') {
    if (assigned.need.policy || assigned.need.proto) return { pool: compactPool(services, previous.reserve, settings), compacted: true };
    const reserve = new Map(previous.reserve);
    const key = kindKey(assigned.need);
    reserve.set(key, Math.max(MIN_OTHER_KIND, (reserve.get(key) ?? 0) * 2));
    return { pool: compactPool(services, reserve, settings), compacted: true };
  }
  return { pool: assigned.pool, compacted: false };
}

/** `spares: 0` turns the pool off: one `svc_` backend per service, so every new or removed service reloads. */
function withoutSpares(previous: BackendPool | undefined, services: readonly PooledService[], settings: PoolSettings): PoolPlan {
  const same =
    previous && previous.entries.length === services.length && previous.entries.every((e, i) => e.service === services[i]!.name && sameKind(e, services[i]!));
  if (same) return { pool: previous, compacted: false };
  return { pool: compactPool(services, new Map(), settings, 0), compacted: true };
}

type Assigned = { kind: 'fits'; pool: BackendPool } | { kind: 'ran-out'; need: BackendKind };

/** Same entries, same order: releases what no service needs any more, then fills free entries. */
function assignInPlace(previous: BackendPool, services: readonly PooledService[]): Assigned {
  if (placedAsBefore(previous, services)) return { kind: 'fits', pool: previous };
  const wanted = new Map(services.map((s) => [s.name, s]));
  const releasedNow = new Set<number>();
  const entries = previous.entries.map((entry, index) => {
    const service = entry.service === undefined ? undefined : wanted.get(entry.service);
    if (entry.service === undefined || (service && sameKind(entry, service))) return entry;
    releasedNow.add(index);
    return { ...entry, service: undefined };
  });
  let changed = releasedNow.size > 0;
  const placed = new Set(entries.flatMap((e) => (e.service === undefined ? [] : [e.service])));
  for (const service of services) {
    if (placed.has(service.name)) continue;
    const index = freeEntry(entries, service, releasedNow);
    if (index < 0) return { kind: 'ran-out', need: kindOf(service) };
    entries[index] = { ...entries[index]!, service: service.name };
    changed = true;
  }
  return { kind: 'fits', pool: changed ? { entries, reserve: previous.reserve } : previous };
}

/**
 * Its own old backend first (re-added services find their name again), else the first free spare of
 * its kind that this same plan did not release: requests in flight to the released service's servers
 * would put their connections back in that backend's slots (BackendSlots.free in desired.ts tells why),
 * where the new service's first requests could reuse them.
 */
function freeEntry(entries: readonly PoolEntry[], service: PooledService, releasedNow: ReadonlySet<number>): number {
  const own = entries.findIndex((e) => e.service === undefined && e.owner === service.name && sameKind(e, service));
  if (own >= 0) return own;
  return entries.findIndex((e, i) => e.service === undefined && e.owner === undefined && !releasedNow.has(i) && sameKind(e, service));
}

function sameKind(a: BackendKind, b: BackendKind): boolean {
  return (
    a.mode === b.mode && a.balance === b.balance && sameBackendCheck(a.check, b.check) && policyKey(a.policy) === policyKey(b.policy) && a.proto === b.proto
  );
}

function kindOf(service: PooledService): BackendKind {
  return {
    mode: service.mode,
    balance: service.balance,
    ...(service.check ? { check: service.check } : {}),
    ...(service.policy && service.policy.length > 0 ? { policy: service.policy } : {}),
    ...(service.proto ? { proto: service.proto } : {}),
  };
}

function compactPool(
  services: readonly PooledService[],
  reserveBefore: Map<string, number>,
  settings: PoolSettings,
  minOtherKind = MIN_OTHER_KIND,
): BackendPool {
  const defaultKey = kindKey(defaultKind(settings));
  const reserve = new Map(reserveBefore);
  for (const service of minOtherKind ? services : []) {
    if ((service.policy && service.policy.length > 0) || service.proto) continue; // no spares of a policy or h2 kind: each is one service's own
    const key = kindKey(kindOf(service));
    if ((reserve.get(key) ?? 0) < minOtherKind && key !== defaultKey) reserve.set(key, minOtherKind);
  }
  const entries: PoolEntry[] = services.map((s) => ({ name: serviceBackendName(s.name), ...kindOf(s), service: s.name, owner: s.name }));
  for (const [key, count] of [...reserve].sort(([a], [b]) => a.localeCompare(b))) {
    const kind = parseKind(key);
    for (let i = 0; i < count; i++) entries.push({ name: spareName(kind, i, settings), ...kind, service: undefined, owner: undefined });
  }
  return { entries, reserve };
}

/**
 * Every service already in an entry of its kind and no entry holding another: the pool stays as it
 * is (the common case, an endpoint change), found with one lookup per service.
 */
function placedAsBefore(previous: BackendPool, services: readonly PooledService[]): boolean {
  const index = serviceEntryIndex(previous);
  if (index.size !== services.length) return false;
  for (const service of services) {
    const at = index.get(service.name);
    if (at === undefined || !sameKind(previous.entries[at]!, service)) return false;
  }
  return true;
}

// A pool is never changed once planned: its indexes are computed once, not per change.
const entryIndexes = new WeakMap<BackendPool, Map<string, number>>();
const backendNames = new WeakMap<BackendPool, Map<string, string>>();

/** Service → the index of the entry serving it. */
export function serviceEntryIndex(pool: BackendPool): ReadonlyMap<string, number> {
  let index = entryIndexes.get(pool);
  if (!index) {
    index = new Map();
    for (let i = 0; i < pool.entries.length; i++) {
      const service = pool.entries[i]!.service;
      if (service !== undefined) index.set(service, i);
    }
    entryIndexes.set(pool, index);
  }
  return index;
}

/** The backend each service is served from. */
export function backendsByService(pool: BackendPool): ReadonlyMap<string, string> {
  let byService = backendNames.get(pool);
  if (!byService) {
    byService = new Map();
    for (const entry of pool.entries) if (entry.service !== undefined) byService.set(entry.service, entry.name);
    backendNames.set(pool, byService);
  }
  return byService;
}

/**
 * Pure: the pool an adopted HAProxy runs, from its backends as run/loaded.json records them
 * (route backends excluded). Reserves are at least the settings' and the free spares seen.
 */
export function poolFromRunning(
  backends: ReadonlyArray<BackendKind & { name: string; service: string; free?: boolean; route?: string }>,
  settings: PoolSettings,
): BackendPool {
  const entries: PoolEntry[] = backends
    .filter((b) => !b.route)
    .map((b) => ({
      name: b.name,
      mode: b.mode,
      balance: b.balance,
      ...(b.check ? { check: b.check } : {}),
      ...(b.policy && b.policy.length > 0 ? { policy: b.policy } : {}),
      ...(b.proto ? { proto: b.proto } : {}),
      service: b.free ? undefined : b.service,
      owner: b.name.startsWith('svc_') ? b.name.slice('svc_'.length) : undefined,
    }));
  const reserve = initialReserve(settings);
  const spares = new Map<string, number>();
  for (const e of entries) if (e.owner === undefined) spares.set(kindKey(e), (spares.get(kindKey(e)) ?? 0) + 1);
  for (const [key, count] of spares) reserve.set(key, Math.max(reserve.get(key) ?? 0, count));
  return { entries, reserve };
}
