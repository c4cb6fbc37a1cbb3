import { createHash } from 'node:crypto';
import { FabricError } from '../../src/errors.js';
import { renderCidr } from '../../src/model/policy/access.js';
import { AUTH_REALM, authUsers, type BasicAuthPolicy } from '../../src/model/policy/basic-auth.js';
import type { Policies } from '../../src/model/policy/schema.js';

export interface NginxAccessContext {
  /** Where the router writes this service's htpasswd file (lb/nginx/auth-files.ts). */
  authFile: string;
  /** Router-level `trustedProxies`. */
  trustedProxies?: readonly string[] | undefined;
}

/**
 * allow/deny and basicAuth → directives of each nginx location of the service (docs/routing.md).
 * nginx checks `allow`/`deny` in order, first match wins: every deny first (deny wins), then
 * every allow, then `deny all`. The trusted proxies' `set_real_ip_from` is scoped to these
 * locations: elsewhere `$remote_addr` stays the connection's address.
 */
export function nginxAccessLines(policies: Policies, context: NginxAccessContext): string[] {
  const lines: string[] = [];
  const { allow, deny, basicAuth } = policies;
  if (allow || deny) {
    const trusted = context.trustedProxies ?? [];
    if (trusted.length > 0) {
      for (const cidr of trusted) lines.push(`set_real_ip_from ${renderCidr(cidr)};`);
      // Not recursive: the last address, the one the trusted proxy appended.
      lines.push('real_ip_header X-Forwarded-For;');
    }
    for (const cidr of deny ?? []) lines.push(`deny ${renderCidr(cidr)};`);
    for (const cidr of allow ?? []) lines.push(`allow ${renderCidr(cidr)};`);
    if (allow) lines.push('deny all;');
  }
  if (basicAuth) {
    if (!AUTH_REALM.test(basicAuth.realm)) throw new FabricError('FABRIC_ERR_RENDER', 'refusing to render an unsafe realm');
    if (!/^\/[A-Za-z0-9._/-]+\.htpasswd$/.test(context.authFile)) throw new FabricError('FABRIC_ERR_RENDER', 'refusing to render an unsafe htpasswd path');
    lines.push(`auth_basic "${basicAuth.realm}";`);
    // The digest changes the config (and its version) when the users change: the file is written again.
    lines.push(`auth_basic_user_file ${context.authFile}; # users ${htpasswdDigest(basicAuth)}`);
  }
  return lines;
}

/** The htpasswd file of a policy: `name:hash` lines, re-checked. */
export function htpasswd(policy: BasicAuthPolicy): string {
  return authUsers(policy)
    .map((u) => `${u.name}:${u.hash}\n`)
    .join('');
}

function htpasswdDigest(policy: BasicAuthPolicy): string {
  return createHash('sha256').update(htpasswd(policy)).digest('hex').slice(0, 16);
}
