import type { IKeyValue, Namespace } from 'etcd3';
import type { z } from 'zod';
import { describeError } from '../errors.js';
import { listPrefix } from '../etcd.js';
import { Keys, parseEndpointKey } from '../keyspace.js';
import { decodeJson } from '../model/codec.js';
import { decodeEndpoint, type Endpoint } from '../model/endpoint.js';
import { hostRecordSchema, type HostRecord } from '../model/host.js';
import { routeSpecSchema, serviceSpecSchema, type RouteSpec, type ServiceSpec } from '../model/service.js';

/** The parts of the keyspace `fabric get` reads, decoded; keys that do not decode are listed, not fatal. */
export interface ClusterState {
  services: ServiceSpec[];
  routes: RouteSpec[];
  endpoints: Endpoint[];
  hosts: HostRecord[];
  /** VIP address → service name (`vips/<address>`). */
  vips: Map<string, string>;
  /** `key: reason` for every value skipped. */
  skipped: string[];
}

export type StatePart = 'services' | 'routes' | 'endpoints' | 'hosts' | 'vips';

const ROOTS: Record<StatePart, string> = {
  services: Keys.servicesRoot,
  routes: Keys.routesRoot,
  endpoints: Keys.endpointsRoot,
  hosts: Keys.hostsRoot,
  vips: Keys.vipsRoot,
};

export async function readState(kv: Namespace, parts: StatePart[]): Promise<ClusterState> {
  const state: ClusterState = { services: [], routes: [], endpoints: [], hosts: [], vips: new Map(), skipped: [] };
  const listed = await Promise.all(parts.map(async (part) => ({ part, kvs: (await listPrefix(kv, ROOTS[part])).kvs })));
  for (const { part, kvs } of listed) {
    for (const entry of kvs) decodeInto(state, part, entry);
  }
  return state;
}

function decodeInto(state: ClusterState, part: StatePart, entry: IKeyValue): void {
  const key = entry.key.toString();
  const raw = entry.value.toString();
  try {
    if (part === 'services') state.services.push(decodeNamed(serviceSpecSchema, key, raw, Keys.service));
    else if (part === 'routes') state.routes.push(decodeNamed(routeSpecSchema, key, raw, Keys.route));
    else if (part === 'endpoints') state.endpoints.push(decodeEndpointEntry(key, raw));
    else if (part === 'hosts') state.hosts.push(decodeJson(hostRecordSchema, key, raw));
    else state.vips.set(key.slice(Keys.vipsRoot.length), vipOwner(raw));
  } catch (err) {
    state.skipped.push(describeError(err));
  }
}

function decodeNamed<T extends z.ZodType<{ name: string }>>(schema: T, key: string, raw: string, keyOf: (name: string) => string): z.infer<T> {
  const spec = decodeJson(schema, key, raw);
  if (keyOf(spec.name) !== key) throw new Error(`${key}: name "${spec.name}" does not match the key`);
  return spec;
}

function decodeEndpointEntry(key: string, raw: string): Endpoint {
  const endpoint = decodeEndpoint(key, raw);
  const parsed = parseEndpointKey(key);
  if (!parsed || parsed.service !== endpoint.service || parsed.container !== endpoint.container) {
    throw new Error(`${key}: key does not match the endpoint's service and container`);
  }
  return endpoint;
}

/** A VIP key's value is the service name: plain text, or JSON (a string, or an object with `service`). */
function vipOwner(raw: string): string {
  const text = raw.trim();
  if (!/^["{]/.test(text)) return text;
  const value = JSON.parse(text) as unknown;
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { service?: unknown }).service === 'string') {
    return (value as { service: string }).service;
  }
  throw new Error(`vips: unexpected value ${text.slice(0, 80)}`);
}
