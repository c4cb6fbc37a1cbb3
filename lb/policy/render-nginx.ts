import { FabricError } from '../../src/errors.js';
import { HEADER_NAME, HEADER_VALUE, headerChanges } from '../../src/model/policy/headers.js';
import { quotedPage } from '../../src/model/policy/maintenance.js';
import { POLICY_PATH, type Policies } from '../../src/model/policy/schema.js';
import { type NginxAccessContext, nginxAccessLines } from './access-nginx.js';
import type { PolicyContext } from './context.js';
import { nginxBodyLines } from './max-body-size.js';
import { nginxRateLimitLines } from './rate-limit.js';
import { nginxRetriesLines } from './retries.js';

export interface NginxPolicy {
  /** A `return` that answers instead of proxying (a redirect), even with no ready endpoint. */
  answer: string | null;
  /** Before `proxy_pass`: the path rewrites. */
  rewrites: string[];
  /** `proxy_set_header` lines: they replace the http block's, so the template repeats fabric's own first. */
  requestHeaders: string[];
  /** `proxy_hide_header` / `add_header … always` lines: they replace the server block's (the template repeats HSTS). */
  responseHeaders: string[];
  /** allow/deny and basicAuth (lb/policy/access-nginx.ts): checked before proxying, whatever the endpoints. */
  access: string[];
}

/** A Service's or Route's policies (lb/policy/context.ts) and, for allow/deny/basicAuth, the router's. */
export interface NginxPolicyContext extends Pick<PolicyContext, 'name' | 'policies'> {
  access?: NginxAccessContext | undefined;
}

/**
 * A service's or route's policies → the directives of each nginx location serving it (docs/routing.md).
 * Pure. A redirect returns before proxying; strip and add are one `rewrite … break` per case,
 * so nginx passes the rewritten URI upstream (proxy_pass has no URI part) and never searches
 * locations again. Values are re-checked against the grammar here.
 */
export function nginxPolicy({ name, policies, access }: NginxPolicyContext): NginxPolicy {
  if (!policies) return { answer: null, rewrites: [], requestHeaders: [], responseHeaders: [], access: [] };
  if (policies.maintenance) {
    // Maintenance answers everything (HTML, whatever the server block's default type).
    return {
      answer: `default_type text/html; return 503 ${quotedPage(policies.maintenance)};`,
      rewrites: [],
      requestHeaders: [],
      responseHeaders: [],
      access: [],
    };
  }
  return {
    answer: policies.redirect ? redirectLine(policies.redirect) : null,
    rewrites: [
      ...rewriteLines(policies),
      ...timeoutLines(policies),
      ...rateLimitLines(policies, name),
      ...retriesLines(policies),
      ...nginxBodyLines(policies.maxBodySize),
    ],
    requestHeaders: [
      ...headerChanges(policies.headers?.request).map(({ name, value }) => `proxy_set_header ${header(name)} "${value === null ? '' : headerValue(value)}";`),
      // The backend never sees the client's credentials.
      ...(policies.basicAuth ? ['proxy_set_header Authorization "";'] : []),
    ],
    responseHeaders: headerChanges(policies.headers?.response).flatMap(({ name, value }) =>
      value === null
        ? [`proxy_hide_header ${header(name)};`]
        : [`proxy_hide_header ${header(name)};`, `add_header ${header(name)} "${headerValue(value)}" always;`],
    ),
    access: policies.allow || policies.deny || policies.basicAuth ? nginxAccessLines(policies, accessContext(access)) : [],
  };
}

function accessContext(access: NginxAccessContext | undefined): NginxAccessContext {
  if (!access) throw new FabricError('FABRIC_ERR_RENDER', 'allow, deny and basicAuth need the router context (htpasswd path, trusted proxies)');
  return access;
}

/** connect → proxy_connect_timeout; server → proxy_read_timeout and proxy_send_timeout; idle → keepalive_timeout (the client's). */
function timeoutLines({ timeouts }: Policies): string[] {
  if (!timeouts) return [];
  const lines: string[] = [];
  if (timeouts.connect !== undefined) lines.push(`proxy_connect_timeout ${ms(timeouts.connect)};`);
  if (timeouts.server !== undefined) lines.push(`proxy_read_timeout ${ms(timeouts.server)};`, `proxy_send_timeout ${ms(timeouts.server)};`);
  if (timeouts.idle !== undefined) lines.push(`keepalive_timeout ${ms(timeouts.idle)};`);
  return lines;
}

function rateLimitLines({ rateLimit }: Policies, name: string): string[] {
  return rateLimit ? nginxRateLimitLines(rateLimitZoneName(name), rateLimit) : [];
}

function retriesLines({ retries }: Policies): string[] {
  return retries === undefined ? [] : nginxRetriesLines(retries);
}

/** The `limit_req_zone` of a service's or route's rate limit (the view declares it in the http block). */
export function rateLimitZoneName(name: string): string {
  return `fabric_rl_${token(name, /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/)}`;
}

function ms(value: number): string {
  if (!Number.isInteger(value) || value < 1) throw new FabricError('FABRIC_ERR_RENDER', `refusing to render timeout ${value}`);
  return `${value}ms`;
}

function header(name: string): string {
  return token(name, HEADER_NAME);
}

/** In a quoted nginx string; `"`, `\\` and `$` never pass the grammar (checked again here). */
function headerValue(value: string): string {
  if (/["\\$]/.test(value)) throw new FabricError('FABRIC_ERR_RENDER', `refusing to render unsafe header value ${JSON.stringify(value)}`);
  return token(value, HEADER_VALUE);
}

function redirectLine(redirect: NonNullable<Policies['redirect']>): string {
  const scheme = redirect.scheme ? token(redirect.scheme, /^https?$/) : '$scheme';
  const host = redirect.host ? token(redirect.host, /^[a-z0-9.-]+(:\d{1,5})?$/) : '$http_host';
  const rest = redirect.path ? path(redirect.path) : '$request_uri';
  return `return ${redirect.code ?? 302} ${scheme}://${host}${rest};`;
}

function rewriteLines({ stripPrefix, addPrefix }: Policies): string[] {
  const lines: string[] = [];
  const add = addPrefix ? path(addPrefix) : '';
  if (stripPrefix) {
    const pattern = regexLiteral(path(stripPrefix));
    lines.push(`rewrite ^${pattern}$ ${add}/ break;`);
    lines.push(`rewrite ^${pattern}(/.*)$ ${add}$1 break;`);
  }
  if (add) lines.push(`rewrite ^(.*)$ ${add}$1 break;`);
  return lines;
}

/** Path characters are literal in a PCRE except `.`. */
function regexLiteral(value: string): string {
  return value.replaceAll('.', '\\.');
}

function path(value: string): string {
  return token(value, POLICY_PATH);
}

function token(value: string, grammar: RegExp): string {
  if (!grammar.test(value)) throw new FabricError('FABRIC_ERR_RENDER', `refusing to render unsafe policy value ${JSON.stringify(value)}`);
  return value;
}
