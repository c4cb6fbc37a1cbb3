import { FabricError } from '../../src/errors.js';
import { HEADER_NAME, HEADER_VALUE, headerChanges } from '../../src/model/policy/headers.js';
import { quotedPage } from '../../src/model/policy/maintenance.js';
import { POLICY_PATH, type Policies } from '../../src/model/policy/schema.js';
import { haproxyAccessLines } from './access-haproxy.js';
import { haproxyErrorPageLines } from './error-pages.js';
import { haproxyBodyLines } from './max-body-size.js';
import { haproxyRateLimitLines } from './rate-limit.js';
import { haproxyRetriesLines } from './retries.js';

/**
 * A service's policies → the lines of its HAProxy backend (docs/routing.md). Pure. Order: a
 * redirect answers before anything else; then the path is rewritten (strip, then add), which is
 * the path the servers see. Every value is re-checked against the grammar here: a line can only
 * hold tokens the schema admitted.
 */
export function haproxyPolicyLines(policies: Policies | undefined): string[] {
  if (!policies) return [];
  const lines: string[] = [];
  const { redirect, stripPrefix, addPrefix, maintenance } = policies;
  // Maintenance answers everything: nothing after it runs.
  if (maintenance) {
    const page = quotedPage(maintenance);
    // HAProxy refuses `string ""`: an empty page is an answer without a body.
    return [page === '""' ? 'http-request return status 503' : `http-request return status 503 content-type text/html string ${page}`];
  }
  if (redirect) {
    const scheme = redirect.scheme ? token(redirect.scheme, /^https?$/) : '%[ssl_fc,iif(https,http)]';
    const host = redirect.host ? token(redirect.host, /^[a-z0-9.-]+(:\d{1,5})?$/) : '%[req.hdr(host)]';
    const rest = redirect.path ? path(redirect.path) : '%[capture.req.uri]';
    lines.push(`http-request redirect code ${redirect.code ?? 302} location ${scheme}://${host}${rest}`);
  }
  // Access control before anything reaches the servers (a redirect answers first, as in nginx).
  lines.push(...haproxyAccessLines(policies));
  lines.push(...haproxyBodyLines(policies.maxBodySize));
  lines.push(...haproxyErrorPageLines(policies.errorPages));
  // Counted after a redirect answered (as nginx's limit_req, which runs after its rewrite phase).
  if (policies.rateLimit) lines.push(...haproxyRateLimitLines(policies.rateLimit));
  if (stripPrefix) {
    const strip = path(stripPrefix);
    // `/api` → `/`, `/api/x` → `/x`; `/apix` is not below the prefix and stays.
    lines.push(`http-request set-path / if { path ${strip} }`);
    lines.push(`http-request set-path %[path,bytes(${strip.length})] if { path_beg ${strip}/ }`);
  }
  if (addPrefix) lines.push(`http-request set-path ${path(addPrefix)}%[path]`);
  const { timeouts } = policies;
  if (timeouts?.connect !== undefined) lines.push(`timeout connect ${ms(timeouts.connect)}`);
  if (timeouts?.server !== undefined) lines.push(`timeout server ${ms(timeouts.server)}`);
  if (timeouts?.idle !== undefined) lines.push(`timeout http-keep-alive ${ms(timeouts.idle)}`);
  if (policies.retries !== undefined) lines.push(...haproxyRetriesLines(policies.retries));
  for (const { name, value } of headerChanges(policies.headers?.request)) lines.push(headerLine('http-request', name, value));
  for (const { name, value } of headerChanges(policies.headers?.response)) lines.push(headerLine('http-response', name, value));
  return lines;
}

/** A quoted log-format string: `%` doubled; `"`, `\\` and `$` never pass the grammar. */
function headerLine(rule: 'http-request' | 'http-response', name: string, value: string | null): string {
  const header = token(name, HEADER_NAME);
  if (value === null) return `${rule} del-header ${header}`;
  return `${rule} set-header ${header} "${token(value, HEADER_VALUE).replaceAll('%', '%%')}"`;
}

function ms(value: number): string {
  if (!Number.isInteger(value) || value < 1) throw new FabricError('FABRIC_ERR_RENDER', `refusing to render timeout ${value}`);
  return `${value}ms`;
}

function path(value: string): string {
  return token(value, POLICY_PATH);
}

function token(value: string, grammar: RegExp): string {
  if (!grammar.test(value) || /["\\$]/.test(value))
    throw new FabricError('FABRIC_ERR_RENDER', `refusing to render unsafe policy value ${JSON.stringify(value)}`);
  return value;
}
