import { z } from 'zod';
import { isDomain } from '../../grammar.js';
import { cidrListSchema } from './access.js';
import { type BasicAuthPolicy, basicAuthSchema } from './basic-auth.js';
import { type ErrorPagesPolicy, errorPagesSchema } from './error-pages.js';
import { type HeadersPolicy, headersSchema } from './headers.js';
import { type MaintenancePolicy, maintenanceSchema } from './maintenance.js';
import { maxBodySizeSchema } from './max-body-size.js';
import { type RateLimitPolicy, rateLimitSchema } from './rate-limit.js';
import { retriesSchema } from './retries.js';
import { type TimeoutsPolicy, timeoutsSchema } from './timeouts.js';

/**
 * Traffic policy fields of Service and Route specs (CONTRACT.md, "Traffic policy on Service and
 * Route specs"; docs/routing.md). Pure: zod schemas only. Every value passes a grammar with no
 * whitespace, quotes, `%`, `$`, `;`, `#`, braces or control characters, so it can be printed into
 * an HAProxy or nginx config as a bare token (lb/policy/render-*.ts check again).
 */

/** A path a policy writes: `/` then path characters; no `%` (HAProxy log-format), no `$` (nginx variables). */
export const POLICY_PATH = /^\/[A-Za-z0-9._~/-]{0,254}$/;

const policyPath = z
  .string()
  .regex(POLICY_PATH, 'must start with "/" and use only A-Z a-z 0-9 . _ ~ / -')
  .refine((p) => !p.split('/').some((segment) => segment === '.' || segment === '..'), { message: 'must not have "." or ".." segments' });

/** A prefix to strip or add: a path that is not `/` and does not end with `/` (`/api`, not `/api/`). */
const prefix = policyPath.refine((p) => p !== '/' && !p.endsWith('/') && !p.includes('//'), {
  message: 'must be a path such as /api: not "/", no trailing "/" and no "//"',
});

/** A redirect's host: a domain name, optionally `:port`. Anything else is not part of a URL. */
const redirectHost = z
  .string()
  .transform((h) => h.toLowerCase())
  .refine(
    (h) => {
      const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(h);
      return m !== null && isDomain(m[1]!) && (m[2] === undefined || (Number(m[2]) >= 1 && Number(m[2]) <= 65535));
    },
    { message: 'is not a host for a URL: a domain name, optionally :port' },
  );

export const REDIRECT_CODES = [301, 302, 307, 308] as const;

export const redirectSchema = z
  .object({
    scheme: z.enum(['http', 'https']).optional(),
    host: redirectHost.optional(),
    path: policyPath.optional(),
    code: z
      .number()
      .refine((c) => (REDIRECT_CODES as readonly number[]).includes(c), { message: 'must be one of 301, 302, 307, 308' })
      .optional(),
  })
  .strict()
  .refine((r) => r.scheme !== undefined || r.host !== undefined || r.path !== undefined, {
    message: 'required: at least one of scheme, host, path',
  });

export type RedirectPolicy = z.infer<typeof redirectSchema>;

/** The policy fields a Service spec takes (spread into its schema). */
export const servicePolicyFields = {
  redirect: redirectSchema.optional(),
  stripPrefix: prefix.optional(),
  addPrefix: prefix.optional(),
  headers: headersSchema.optional(),
  maintenance: maintenanceSchema.optional(),
  timeouts: timeoutsSchema.optional(),
  rateLimit: rateLimitSchema.optional(),
  retries: retriesSchema.optional(),
  basicAuth: basicAuthSchema.optional(),
  allow: cidrListSchema.optional(),
  deny: cidrListSchema.optional(),
  maxBodySize: maxBodySizeSchema.optional(),
  errorPages: errorPagesSchema.optional(),
};

/**
 * A Route takes the same fields with the same grammar: they apply to the route's own traffic
 * (where its host + path match), not the policies of the Services behind it (docs/routing.md).
 */
export const routePolicyFields = servicePolicyFields;

/** The policies a spec carries, as the renderers read them. */
export interface Policies {
  redirect?: RedirectPolicy;
  stripPrefix?: string;
  addPrefix?: string;
  headers?: HeadersPolicy;
  maintenance?: MaintenancePolicy;
  timeouts?: TimeoutsPolicy;
  rateLimit?: RateLimitPolicy;
  retries?: number;
  basicAuth?: BasicAuthPolicy;
  allow?: string[];
  deny?: string[];
  maxBodySize?: number;
  errorPages?: ErrorPagesPolicy;
}

/** The names of the policies set, in a stable order (for capability checks and status). */
export const POLICY_NAMES = [
  'maintenance',
  'redirect',
  'stripPrefix',
  'addPrefix',
  'headers',
  'timeouts',
  'rateLimit',
  'retries',
  'basicAuth',
  'allow',
  'deny',
  'maxBodySize',
  'errorPages',
] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export function policiesOf(spec: Policies | undefined): Policies | undefined {
  if (!spec) return undefined;
  const out: Policies = {};
  if (spec.redirect) out.redirect = spec.redirect;
  if (spec.stripPrefix) out.stripPrefix = spec.stripPrefix;
  if (spec.maintenance?.enabled) out.maintenance = spec.maintenance;
  if (spec.addPrefix) out.addPrefix = spec.addPrefix;
  if (spec.timeouts && Object.keys(spec.timeouts).length > 0) out.timeouts = spec.timeouts;
  if (spec.rateLimit) out.rateLimit = spec.rateLimit;
  if (spec.retries !== undefined) out.retries = spec.retries;
  if (spec.headers && (Object.keys(spec.headers.request ?? {}).length > 0 || Object.keys(spec.headers.response ?? {}).length > 0)) out.headers = spec.headers;
  if (spec.basicAuth) out.basicAuth = spec.basicAuth;
  if (spec.allow && spec.allow.length > 0) out.allow = spec.allow;
  if (spec.deny && spec.deny.length > 0) out.deny = spec.deny;
  if (spec.maxBodySize !== undefined) out.maxBodySize = spec.maxBodySize;
  if (spec.errorPages && Object.keys(spec.errorPages).length > 0) out.errorPages = spec.errorPages;
  return Object.keys(out).length > 0 ? out : undefined;
}

export function policyNames(policies: Policies | undefined): PolicyName[] {
  return policies ? POLICY_NAMES.filter((name) => policies[name] !== undefined) : [];
}

/** Combinations a spec cannot have: policies act on HTTP requests only. */
export function refinePolicies(spec: Policies & { mode?: string | undefined }, ctx: z.RefinementCtx): void {
  if (spec.mode !== 'tcp') return;
  for (const name of policyNames(spec)) {
    ctx.addIssue({ code: 'custom', path: [name], message: 'not possible on a tcp service: traffic policies act on HTTP requests' });
  }
}
