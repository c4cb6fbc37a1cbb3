import { z } from 'zod';
import { durationSchema } from '../duration.js';
import { domain, ipAddress, mode, pathPrefix, port, serviceName, version, weight } from '../grammar.js';
import { hostGlob, poolName } from '../tenancy/allowed.js';
import { tlsChoice } from '../tls/names.js';
import { nullsAbsent } from './nulls.js';
import { refinePolicies, routePolicyFields, servicePolicyFields } from './policy/schema.js';
import { protoSchema } from './proto.js';
import { staticEndpointIssues, staticEndpointSchema } from './static-endpoint.js';

export const healthCheckSpecSchema = z
  .object({
    path: pathPrefix.optional(),
    interval: durationSchema({ min: 100, max: 3_600_000, whole: true }).optional(),
    timeout: durationSchema({ min: 10, max: 600_000, whole: true }).optional(),
    rise: z.number().int().min(1).max(100).optional(),
    fall: z.number().int().min(1).max(100).optional(),
  })
  .strict();

/** HSTS max-age: 0 (tells browsers to forget it) to two years. */
const HSTS_MAX_MS = 2 * 365 * 86_400_000;

/**
 * `tls:` of a Service or Route (docs/tls.md): which certificate its hosts get (`cert`, default `auto`
 * once a `tls` block is given), whether plain HTTP is sent to https (308), and HSTS on HTTPS answers.
 */
export const tlsSpecSchema = z
  .object({
    cert: tlsChoice.optional(),
    redirect: z.boolean().optional(),
    hsts: durationSchema({ min: 0, max: HSTS_MAX_MS }).optional(),
  })
  .strict();

export type TlsSpec = z.infer<typeof tlsSpecSchema>;

/**
 * `kind: Service` (CONTRACT.md, "Declarative rules") as etcd holds it at `services/<name>`: the
 * fields only. The router decodes with this, so a spec written before a rule below existed (or by
 * hand) still serves, its problem reported in the model's issues.
 */
const serviceFields = z
  .object({
    kind: z.literal('Service').optional(),
    name: serviceName,
    mode: mode.optional(),
    domains: z.array(domain).max(64).optional(),
    paths: z.array(pathPrefix).max(64).optional(),
    balance: z.enum(['roundrobin', 'leastconn', 'source']).optional(),
    vip: z.union([z.literal('auto'), z.literal('none'), ipAddress]).optional(),
    port: port.optional(),
    /** What the proxy speaks to the endpoints (src/model/proto.ts): `http1` (default) or `h2c` (gRPC). */
    proto: protoSchema.optional(),
    healthCheck: healthCheckSpecSchema.optional(),
    tls: tlsSpecSchema.optional(),
    slb: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'is not a load balancer id')
      .optional(),
    /** Static backends outside Docker (docs/routing.md, "Static endpoints"). */
    endpoints: z.array(staticEndpointSchema).max(1024).optional(),
    /** Where its endpoints may come from (src/tenancy): host globs and/or agents' pools; absent: every host. */
    hosts: z.array(hostGlob).min(1).max(64).optional(),
    pools: z.array(poolName).min(1).max(64).optional(),
    // Traffic policies (src/model/policy/schema.ts, docs/routing.md).
    ...servicePolicyFields,
  })
  .strict();

/** `null` for an optional field is absent (src/model/nulls.ts), as other writers produce it. */
export const storedServiceSpecSchema = z.preprocess(nullsAbsent, serviceFields);

/** A Service as `fabric apply` writes it: the fields, and combinations that cannot work refused. */
export const serviceSpecSchema = storedServiceSpecSchema.superRefine((spec, ctx) => {
  // HTTP has a default VIP port (80); TCP has none, so the address would serve nothing.
  if (spec.mode === 'tcp' && spec.vip !== undefined && spec.vip !== 'none' && spec.port === undefined) {
    ctx.addIssue({ code: 'custom', path: ['port'], message: `required: a TCP service with a VIP (vip: ${spec.vip}) needs the port to serve on it` });
  }
  if (spec.mode === 'tcp' && spec.proto !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['proto'], message: 'not possible on a tcp service: proto chooses the HTTP version spoken to endpoints' });
  }
  for (const issue of staticEndpointIssues(spec.endpoints)) ctx.addIssue({ code: 'custom', ...issue });
  refinePolicies(spec, ctx);
});

export type ServiceSpec = z.infer<typeof serviceSpecSchema>;

const routeBackendSchema = z.object({ service: serviceName, version: version.optional(), weight }).strict();

/** `kind: Route`: host + path prefix → weighted backends, stored at `routes/<name>`. */
export const routeSpecSchema = z
  .object({
    kind: z.literal('Route').optional(),
    name: serviceName,
    host: domain,
    path: pathPrefix.optional(),
    sticky: z.boolean().optional(),
    tls: tlsSpecSchema.optional(),
    backends: z.array(routeBackendSchema).min(1).max(32),
    ...routePolicyFields,
  })
  .strict();

export type RouteSpec = z.infer<typeof routeSpecSchema>;
