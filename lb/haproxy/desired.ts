import { servingState, type Balance, type Model, type ServingState } from '../model.js';

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
}

/** Everything HAProxy should run; the template renders it and the diff compares it. */
export interface HaproxyDesired {
  backends: Backend[];
  /** `host backend`, exact host matches. */
  hostMap: Array<[string, string]>;
  /** `host/path backend`, longest prefix first. */
  pathMap: Array<[string, string]>;
}

/** Slot assignment remembered between applies, per backend: its size and endpoint key → slot index. */
export type SlotTable = Map<string, BackendSlots>;

export interface BackendSlots {
  size: number;
  byEndpoint: Map<string, number>;
}

const MIN_SLOTS = 4;
const EMPTY_ADDRESS = '127.0.0.1';
const EMPTY_PORT = 1;

export function backendName(service: string): string {
  return `svc_${service}`;
}

/**
 * Pure: the model → HAProxy's desired state. Endpoints keep the slot they had
 * (so a change is a runtime update of one slot); new ones take free slots;
 * a backend grows, by doubling, only when its slots run out.
 */
export function desiredHaproxy(model: Model, previous: SlotTable): { desired: HaproxyDesired; slots: SlotTable } {
  const slots: SlotTable = new Map();
  const backends: Backend[] = model.services.map((service) => {
    const name = backendName(service.name);
    const keyed = service.endpoints.map((e) => ({ key: `${e.host}/${e.container}`, endpoint: e }));
    const assignment = assignSlots(previous.get(name), keyed.map((k) => k.key));
    slots.set(name, assignment);
    const servers: ServerSlot[] = Array.from({ length: assignment.size }, (_, i) => emptySlot(i));
    for (const { key, endpoint } of keyed) {
      const index = assignment.byEndpoint.get(key)!;
      servers[index] = {
        name: slotName(index),
        endpoint: key,
        address: endpoint.address,
        port: endpoint.port,
        weight: endpoint.weight,
        state: servingState(endpoint),
      };
    }
    return { name, service: service.name, mode: service.mode, balance: service.balance, servers };
  });
  const httpServices = new Set(model.services.filter((s) => s.mode === 'http').map((s) => s.name));
  const hostMap: Array<[string, string]> = [];
  const pathMap: Array<[string, string]> = [];
  for (const rule of model.hostRules) {
    if (!httpServices.has(rule.service)) continue;
    if (rule.path) pathMap.push([`${rule.host}${rule.path}`, backendName(rule.service)]);
    else hostMap.push([rule.host, backendName(rule.service)]);
  }
  hostMap.sort(([a], [b]) => a.localeCompare(b));
  pathMap.sort(([a], [b]) => b.length - a.length || a.localeCompare(b));
  return { desired: { backends, hostMap, pathMap }, slots };
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
  let next = 0;
  for (const key of keys) {
    if (byEndpoint.has(key)) continue;
    while (used.has(next)) next += 1;
    byEndpoint.set(key, next);
    used.add(next);
  }
  // Never shrink while running: a smaller backend would need a reload.
  let size = Math.max(MIN_SLOTS, before?.size ?? 0);
  const needed = Math.max(keys.length, ...[...used].map((slot) => slot + 1));
  while (size < needed) size *= 2;
  return { size, byEndpoint };
}

function slotName(index: number): string {
  return `s${index + 1}`;
}

function emptySlot(index: number): ServerSlot {
  return { name: slotName(index), endpoint: undefined, address: EMPTY_ADDRESS, port: EMPTY_PORT, weight: 1, state: 'maint' };
}
