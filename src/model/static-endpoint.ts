import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { ipAddress, port, weight } from '../grammar.js';
import type { Endpoint } from './endpoint.js';

/** The host static endpoints of a Service spec are listed under: no agent may take this name. */
export const STATIC_HOST = 'static';
/** What a static endpoint weighs when the spec gives no weight (the agent's default for a container). */
export const STATIC_DEFAULT_WEIGHT = 100;

/** `endpoints:` of a Service spec: one backend outside Docker. */
export const staticEndpointSchema = z
  .object({ address: ipAddress.refine((a) => !a.includes('%'), { message: 'must not carry an IPv6 zone' }), port, weight: weight.optional() })
  .strict();
export type StaticEndpoint = z.infer<typeof staticEndpointSchema>;

// Addresses nothing can be served from: "any" (0.0.0.0, ::), multicast and broadcast.
const UNSERVABLE = new Set(['unspecified', 'multicast', 'broadcast']);

/** `fabric apply`'s word on a spec's static endpoints: addresses nothing serves on, and duplicates. */
export function staticEndpointIssues(endpoints: unknown): Array<{ path: Array<string | number>; message: string }> {
  const issues: Array<{ path: Array<string | number>; message: string }> = [];
  const seen = new Map<string, number>();
  // zod runs refinements on a spec with bad fields too: look only at endpoints that passed the field rules.
  (Array.isArray(endpoints) ? endpoints : []).forEach((raw: unknown, i) => {
    const parsed = staticEndpointSchema.safeParse(raw);
    if (!parsed.success) return;
    const e = parsed.data;
    const range = ipaddr.parse(e.address).range();
    if (UNSERVABLE.has(range)) issues.push({ path: ['endpoints', i, 'address'], message: `${e.address} is a ${range} address: nothing can be served from it` });
    const id = staticEndpointId(e);
    const first = seen.get(id);
    if (first !== undefined) issues.push({ path: ['endpoints', i], message: `duplicates endpoints.${first} (${e.address} port ${e.port})` });
    else seen.set(id, i);
  });
  return issues;
}

/**
 * The endpoint id of a static endpoint: its address (canonical, `:` → `_`) and port, so it fits the
 * endpoint id grammar and the same backend keeps the same id across applies. `::1` port 80 → `0__1-80`.
 */
export function staticEndpointId(e: Pick<StaticEndpoint, 'address' | 'port'>): string {
  const canonical = ipaddr.parse(e.address).toString().replaceAll(':', '_');
  return `${canonical.startsWith('_') ? '0' : ''}${canonical}-${e.port}`;
}

/** A spec's static endpoint as the model serves it: host `static`, never Docker-health-gated, always up. */
export function staticEndpoint(service: string, mode: Endpoint['mode'], e: StaticEndpoint): Endpoint {
  const id = staticEndpointId(e);
  return {
    service,
    host: STATIC_HOST,
    container: id,
    name: id,
    address: e.address,
    port: e.port,
    weight: e.weight ?? STATIC_DEFAULT_WEIGHT,
    mode,
    domains: [],
    health: 'none',
    state: 'up',
  };
}
