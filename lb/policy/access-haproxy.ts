import { createHash } from 'node:crypto';
import { FabricError } from '../../src/errors.js';
import { renderCidr } from '../../src/model/policy/access.js';
import { type AuthUser, authUsers, type BasicAuthPolicy } from '../../src/model/policy/basic-auth.js';
import type { Policies } from '../../src/model/policy/schema.js';

/**
 * allow/deny and basicAuth → HAProxy backend lines (docs/routing.md). The client address is
 * `txn.fabric_client`: the frontend sets it from X-Forwarded-For when the connection comes from a
 * trusted proxy (`trustedFrontendLines`), the backend from `src` otherwise. Deny lines come first:
 * deny wins over allow.
 */
export function haproxyAccessLines(policies: Policies): string[] {
  const lines: string[] = [];
  const { allow, deny, basicAuth } = policies;
  if (allow || deny) lines.push('http-request set-var(txn.fabric_client) src unless { var(txn.fabric_client) -m found }');
  if (deny) lines.push(`http-request deny deny_status 403 if { var(txn.fabric_client) -m ip ${cidrs(deny)} }`);
  if (allow) lines.push(`http-request deny deny_status 403 unless { var(txn.fabric_client) -m ip ${cidrs(allow)} }`);
  if (basicAuth) {
    const list = userlistFor(basicAuth);
    lines.push(`http-request auth realm ${list.realm} unless { http_auth(${list.name}) }`);
    // The backend never sees the client's credentials.
    lines.push('http-request del-header Authorization');
  }
  return lines;
}

/** The frontend lines that take the client address from X-Forwarded-For (its last address) when `src` is a trusted proxy. */
export function trustedFrontendLines(trustedProxies: readonly string[] | undefined): string[] {
  if (!trustedProxies || trustedProxies.length === 0) return [];
  return [
    `http-request set-var(txn.fabric_client) req.hdr_ip(x-forwarded-for,-1) if { src ${cidrs(trustedProxies)} } { req.hdr_ip(x-forwarded-for,-1) -m found }`,
  ];
}

export interface Userlist {
  name: string;
  realm: string;
  users: AuthUser[];
}

/**
 * Userlists by name. A name is the digest of its realm and users, so a change of users changes
 * the backend's lines (and reloads), and a spare backend keeping a removed service's lines still
 * finds its list: the view prints every list a backend's lines name.
 */
const userlists = new Map<string, Userlist>();

function userlistFor(policy: BasicAuthPolicy): Userlist {
  const users = authUsers(policy);
  const digest = createHash('sha256')
    .update(JSON.stringify([policy.realm, users]))
    .digest('hex')
    .slice(0, 16);
  const name = `fabric_auth_${digest}`;
  let list = userlists.get(name);
  if (!list) userlists.set(name, (list = { name, realm: policy.realm, users }));
  return list;
}

const USES_LIST = /http_auth\((fabric_auth_[0-9a-f]{16})\)/;

/** The userlist sections the given backend lines name, each once. */
export function userlistsOf(policyLines: Iterable<readonly string[] | undefined>): Userlist[] {
  const out = new Map<string, Userlist>();
  for (const lines of policyLines) {
    for (const line of lines ?? []) {
      const name = USES_LIST.exec(line)?.[1];
      if (!name || out.has(name)) continue;
      const list = userlists.get(name);
      if (!list) throw new FabricError('FABRIC_ERR_RENDER', `backend lines name userlist ${name}, which this router never rendered`);
      out.set(name, list);
    }
  }
  return [...out.values()];
}

function cidrs(list: readonly string[]): string {
  return list.map(renderCidr).join(' ');
}
