import { z } from 'zod';
import { durationSchema } from '../src/duration.js';
import { domain, parseHostPort } from '../src/grammar.js';
import { cidrListSchema } from '../src/model/policy/access.js';
import { fileModeSchema } from './confd/mode.js';
import { tlsConfigSchema } from './tls/config.js';

// Trimmed here, not only inside parseHostPort: the templates print the value itself, and the
// views refuse a token with a CR or a space (found by test/fuzz/router-config.test.ts).
const hostPort = z
  .string()
  .transform((v) => v.trim())
  .refine((v) => parseHostPort(v) !== undefined, { message: 'must be HOST:PORT' });
const commandTimeout = durationSchema({ min: 100, max: 600_000 }).default(30_000);

const haproxyTargetSchema = z
  .object({
    kind: z.literal('haproxy'),
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
      .optional(),
    http: hostPort.optional(),
    /** The HTTPS frontend (docs/tls.md): SNI picks the certificate, HTTP/2 by ALPN. */
    https: hostPort.optional(),
    template: z.string().default('templates/haproxy.cfg.hbs'),
    dest: z.string().default('/var/lib/fabric/haproxy/haproxy.cfg'),
    manage: z.boolean().default(true),
    binary: z.string().default('haproxy'),
    reload: z.string().optional(),
    runtimeSocket: z.string().optional(),
    hardStopAfter: z
      .string()
      .regex(/^\d+(ms|s|m|h)$/)
      .default('30s'),
    maxconn: z.number().int().min(1).optional(),
    /** HAProxy's own Prometheus exporter (built into Debian's 2.6) on this `HOST:PORT`, path `/metrics`; off when absent (docs/metrics.md). */
    prometheus: hostPort.optional(),
    /** Free spare backends kept after each reload: new services take them with no reload (lb/haproxy/spares.ts). */
    spares: z.number().int().min(0).max(10_000).default(128),
    commandTimeout,
  })
  .strict();

/** `kind: nginx`: the router renders, validates (`nginx -t`), swaps and reloads nginx; see docs/targets.md. */
export const nginxTargetSchema = z
  .object({
    kind: z.literal('nginx'),
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
      .optional(),
    http: hostPort.optional(),
    /** The HTTPS listener (docs/tls.md): one server block per host with a certificate. */
    https: hostPort.optional(),
    template: z.string().default('templates/nginx.conf.hbs'),
    dest: z.string().default('/var/lib/fabric/nginx/nginx.conf'),
    manage: z.boolean().default(true),
    binary: z.string().default('nginx'),
    /** With manage: false, the command that reloads nginx. */
    reload: z.string().optional(),
    /** Reloads are at least this far apart: a burst of changes waits and is folded into one reload. */
    minReloadInterval: durationSchema({ min: 0, max: 600_000 }).default(1_000),
    workerShutdownTimeout: z
      .string()
      .regex(/^\d+(ms|s|m|h)$/)
      .default('30s'),
    /** Endpoint changes at run time through Debian's Lua module (docs/targets.md): default on when it is installed. */
    dynamic: z.boolean().optional(),
    /** Where ndk_http_module.so and ngx_http_lua_module.so are (libnginx-mod-http-lua). */
    modulesDir: z.string().default('/usr/lib/nginx/modules'),
    commandTimeout,
  })
  .strict();

/** `kind: file`: confd's template resource in router.yaml (any template over any etcd keys). */
export const fileTargetSchema = z
  .object({
    kind: z.literal('file'),
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
      .optional(),
    template: z.string().min(1),
    /** The template language; default by extension: `.hbs` Handlebars, anything else Go (confd's text/template). */
    engine: z.enum(['go', 'handlebars']).optional(),
    dest: z.string().min(1),
    /** etcd key prefixes the template reads, relative to `prefix`. */
    keys: z.array(z.string().min(1)).default([]),
    prefix: z.string().default('/'),
    /** Runs on the staged file: `{{src}}` (or confd's `{{.src}}`) is its path. */
    check: z.string().optional(),
    reload: z.string().optional(),
    mode: fileModeSchema.optional(),
    uid: z.number().int().min(0).optional(),
    gid: z.number().int().min(0).optional(),
    commandTimeout,
  })
  .strict();

/** `kind: slb`: a cloud load balancer's backend list per `slb:` id, pushed by `apply`; see docs/targets.md. */
export const slbTargetSchema = z
  .object({
    kind: z.literal('slb'),
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
      .optional(),
    template: z.string().default('templates/slb.json.hbs'),
    /** One file per load balancer: must contain `{{slb}}`; its directory belongs to this target. */
    dest: z.string().includes('{{slb}}', { message: 'must contain {{slb}} (one file per load balancer)' }).default('/var/lib/fabric/slb/{{slb}}.json'),
    /** Runs when a load balancer's list changed: `{{src}}` is its file, `{{slb}}` its id. */
    apply: z.string().min(1),
    commandTimeout,
  })
  .strict();

export const routerConfigSchema = z
  .object({
    domain: domain.optional(),
    vipPool: z.string().optional(),
    vipInterface: z.string().optional(),
    debounce: z
      .object({
        min: durationSchema({ min: 0, max: 60_000 }).default(20),
        max: durationSchema({ min: 1, max: 600_000 }).default(500),
      })
      .strict()
      .default({ min: 20, max: 500 }),
    /** Active health checks: the router's defaults (a Service spec's or a container's labels win). */
    healthCheck: z
      .object({
        interval: durationSchema({ min: 100, max: 3_600_000, whole: true }).default(2_000),
        timeout: durationSchema({ min: 10, max: 600_000, whole: true }).default(1_000),
        rise: z.number().int().min(1).max(100).default(2),
        fall: z.number().int().min(1).max(100).default(3),
        /** Endpoints with no check asked for anywhere: a TCP connect (HAProxy's `check`), or none. */
        unconfigured: z.enum(['tcp', 'none']).default('tcp'),
        /** At most this many checks in flight. */
        concurrency: z.number().int().min(1).max(10_000).default(64),
        /** Who runs the checks: `auto` is HAProxy when the router drives one it can read, else the router; `router` always the router. */
        runner: z.enum(['auto', 'router']).default('auto'),
      })
      .strict()
      .default({ interval: 2_000, timeout: 1_000, rise: 2, fall: 3, unconfigured: 'tcp', concurrency: 64, runner: 'auto' }),
    /** Traffic sampling (docs/traffic.md): the load balancers' counters read every `sampleInterval` into 15-minute rings. */
    traffic: z
      .object({
        enabled: z.boolean().default(true),
        /** How often each HAProxy's counters are read (one `show info;show stat` round trip); also the health read-back's pace. */
        sampleInterval: durationSchema({ min: 500, max: 5_000 }).default(1_000),
        /** Endpoints with their own series on /metrics; past this, endpoint series are left out (docs/metrics.md). */
        metricsEndpointCap: z.number().int().min(0).max(100_000).default(1_000),
      })
      .strict()
      .default({ enabled: true, sampleInterval: 1_000, metricsEndpointCap: 1_000 }),
    /** Certificates: the key file that decrypts them, what hosts get by default (docs/tls.md). */
    tls: tlsConfigSchema.default({ previousKeyFiles: [], default: 'none' }),
    /** Proxies in front of the router (CIDRs): from them, a client's address is the last X-Forwarded-For address (allow/deny policies; docs/routing.md). */
    trustedProxies: cidrListSchema.max(256).default([]),
    targets: z.array(z.discriminatedUnion('kind', [haproxyTargetSchema, nginxTargetSchema, fileTargetSchema, slbTargetSchema])).default([]),
    confdir: z.string().optional(),
    routerId: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/)
      .optional(),
  })
  // The file also carries the common options (etcd, listen, …): resolveOptions refuses a top-level
  // key that is neither one of those nor in ROUTER_CONFIG_KEYS; nested objects are strict.
  .passthrough();

/** The router config's own top-level keys, which a router's --config file may hold besides its options. */
export const ROUTER_CONFIG_KEYS: readonly string[] = Object.keys(routerConfigSchema.shape);

export type RouterConfig = z.infer<typeof routerConfigSchema>;
export type HaproxyTargetSpec = z.infer<typeof haproxyTargetSchema>;
export type FileTargetSpec = z.infer<typeof fileTargetSchema>;
export type NginxTargetSpec = z.infer<typeof nginxTargetSchema>;
export type SlbTargetSpec = z.infer<typeof slbTargetSchema>;
export type TargetSpec = RouterConfig['targets'][number];
