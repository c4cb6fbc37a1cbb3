import { z } from 'zod';
import { domain, endpointId, hostName, ipAddress, mode, pathPrefix, port, serviceName, version, weight } from '../grammar.js';
import { tlsChoice } from '../tls/names.js';
import { nullsAbsent } from './nulls.js';

export const HEALTH_STATES = ['healthy', 'unhealthy', 'starting', 'none'] as const;
export type Health = (typeof HEALTH_STATES)[number];
export const ENDPOINT_STATES = ['up', 'draining'] as const;
export type EndpointState = (typeof ENDPOINT_STATES)[number];

/** Active health check asked for by a container's labels. */
export const healthCheckSchema = z.object({
  path: pathPrefix.optional(),
  intervalMs: z.number().int().min(100).max(3_600_000).optional(),
});

/**
 * One endpoint, as the agent (or another registrar) writes it to `endpoints/<service>/<host>/<id>`:
 * `container` is that id, a Docker id or any ENDPOINT_ID. An optional field may be null (= absent).
 */
const endpointFields = z.object({
  service: serviceName,
  host: hostName,
  container: endpointId,
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/),
  address: ipAddress,
  port,
  weight,
  version: version.optional(),
  mode,
  domains: z.array(domain).max(64),
  path: pathPrefix.optional(),
  /** `fabric.tls`: auto, none or a certificate name, for the hosts this service wins (docs/tls.md). */
  tls: tlsChoice.optional(),
  health: z.enum(HEALTH_STATES),
  state: z.enum(ENDPOINT_STATES),
  check: healthCheckSchema.optional(),
});

export const endpointSchema = z.preprocess(nullsAbsent, endpointFields);

export type Endpoint = z.infer<typeof endpointSchema>;

/**
 * Canonical JSON: zod rebuilds the object in schema order, so an unchanged
 * endpoint always encodes to identical bytes and the agent can compare by text.
 */
export function encodeEndpoint(endpoint: Endpoint): string {
  return JSON.stringify(endpointSchema.parse(endpoint));
}

// Decoding (etcd value → Endpoint): src/model/endpoint-decode.ts, which checks the common valid endpoint without zod.
