import { normalizeAddress } from '../../src/model/entry.js';
import type { ModelIssue } from '../model/types.js';
import type { VipPool } from './pool.js';

/** What a Service spec asks for: any free address of the pool, or one given address. */
export interface VipWant {
  service: string;
  request: 'auto' | string;
}

/** A `vips/<address>` key as the store holds it. */
export interface VipHold {
  key: string;
  address: string;
  service: string;
  createRevision: number;
}

export interface VipCreate {
  service: string;
  address: string;
}

export interface VipRelease {
  key: string;
  service: string;
  address: string;
}

export interface VipPlan {
  /** service → the address it holds and keeps: what the load balancers bind. */
  assigned: Map<string, string>;
  /** Keys to create (`vips/<address>` = service, only if absent). */
  create: VipCreate[];
  /** Keys to delete (only if they still name that service). */
  release: VipRelease[];
  issues: ModelIssue[];
}

/**
 * Pure: wanted vs held → what to create and release. Level-triggered: the
 * router runs it after every model build, so a lost race (another router took
 * the address first) is just a key that shows up in the next build, and the
 * next plan probes on to the next free address.
 *
 * - A service keeps the address it holds (its oldest key, if a race left it two).
 * - A given address is refused if another service holds it or it is outside the pool.
 * - Given addresses are claimed before any `auto` one: `auto` takes only addresses
 *   no spec names, so one `fabric apply` with both never depends on name order.
 * - `auto` takes the first free address probing from a hash of the service name,
 *   so routers racing for the same service mostly pick the same address.
 * - Keys of services that no longer want a VIP are released.
 * Without a pool this router neither creates nor releases anything.
 */
export function planVips(wants: VipWant[], holds: VipHold[], pool: VipPool | undefined): VipPlan {
  const plan: VipPlan = { assigned: new Map(), create: [], release: [], issues: [] };
  const wanted = new Map(wants.map((w) => [w.service, w.request === 'auto' ? 'auto' : (normalizeAddress(w.request) ?? w.request)]));
  const taken = keepHeld(plan, wanted, holds, pool);
  const unmet = [...wanted].filter(([service]) => !plan.assigned.has(service)).sort(([a], [b]) => a.localeCompare(b));
  if (!pool) {
    for (const [service, request] of unmet) {
      plan.issues.push({ code: 'FABRIC_ERR_CONFIG', subject: `services/${service}`, message: `wants a VIP (${request}) but the router has no vipPool` });
    }
    return plan;
  }
  // Every address a spec names (of the pool) is in `taken` once these ran: `auto` keeps off them.
  for (const [service, request] of unmet) if (request !== 'auto') claimNamed(plan, taken, pool, service, request);
  const autos = unmet.filter(([, request]) => request === 'auto').map(([service]) => service);
  claimAuto(plan, taken, pool, autos);
  return plan;
}

/**
 * What each service holds and keeps (into `plan.assigned`), the keys to release (only with a
 * pool: a router without one must not undo another's work), and address → holder of every key.
 */
function keepHeld(plan: VipPlan, wanted: ReadonlyMap<string, string>, holds: VipHold[], pool: VipPool | undefined): Map<string, string> {
  const taken = new Map<string, string>();
  const byService = new Map<string, VipHold[]>();
  for (const hold of [...holds].sort((a, b) => a.createRevision - b.createRevision || a.address.localeCompare(b.address))) {
    taken.set(hold.address, hold.service);
    byService.set(hold.service, [...(byService.get(hold.service) ?? []), hold]);
  }
  for (const [service, held] of [...byService].sort(([a], [b]) => a.localeCompare(b))) {
    const request = wanted.get(service);
    const keep =
      request === undefined ? undefined : request === 'auto' ? held.find((h) => !pool || pool.contains(h.address)) : held.find((h) => h.address === request);
    if (keep) plan.assigned.set(service, keep.address);
    if (!pool) continue;
    for (const hold of held) if (hold !== keep) plan.release.push({ key: hold.key, service, address: hold.address });
  }
  return taken;
}

/** A given address: created when free, refused when outside the pool or another service has it. */
function claimNamed(plan: VipPlan, taken: Map<string, string>, pool: VipPool, service: string, address: string): void {
  const subject = `services/${service}`;
  const holder = taken.get(address);
  if (!pool.contains(address)) {
    plan.issues.push({ code: 'FABRIC_ERR_CONFLICT', subject, message: `VIP ${address} refused: outside the pool ${pool.cidr}` });
  } else if (holder !== undefined && holder !== service) {
    plan.issues.push({ code: 'FABRIC_ERR_CONFLICT', subject, message: `VIP ${address} refused: already held by service ${holder}` });
  } else if (holder === undefined) {
    taken.set(address, service);
    plan.create.push({ service, address });
  }
}

/** `auto`: the first free address from each service's hash; once the pool runs out, every later one is told so. */
function claimAuto(plan: VipPlan, taken: Map<string, string>, pool: VipPool, services: string[]): void {
  let exhausted = false;
  for (const service of services) {
    const address = exhausted ? undefined : freeAddress(pool, taken, service);
    if (address === undefined) {
      exhausted = true;
      plan.issues.push({
        code: 'FABRIC_ERR_VIP_EXHAUSTED',
        subject: `services/${service}`,
        message: `no free address left in the VIP pool ${pool.cidr} (${pool.size} addresses)`,
      });
      continue;
    }
    taken.set(address, service);
    plan.create.push({ service, address });
  }
}

/** The first address not taken, probing linearly from the service name's hash. */
export function freeAddress(pool: VipPool, taken: ReadonlyMap<string, string>, service: string): string | undefined {
  const start = fnv1a(service) % pool.size;
  for (let i = 0; i < pool.size; i++) {
    const address = pool.at((start + i) % pool.size);
    if (!taken.has(address)) return address;
  }
  return undefined;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
