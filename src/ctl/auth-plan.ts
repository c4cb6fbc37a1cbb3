import { FabricError } from '../errors.js';
import { hostName } from '../grammar.js';
import { namespacePrefix } from '../keyspace.js';

/** One permission of a role: a key prefix (absolute, below `--etcd-prefix`). */
export interface Grant {
  permission: 'Read' | 'Readwrite';
  prefix: string;
}

export interface RolePlan {
  name: string;
  grants: Grant[];
}

/** The users `fabric auth init` makes: each has a role of its own name. */
export interface AuthPlan {
  roles: RolePlan[];
}

/**
 * The least-privilege roles (CONTRACT.md, "Least privilege and tenancy"), pure. An agent reads and
 * writes only its host's keys (`hosts/<host>/`: endpoints and info, the only keys it ever reads);
 * the router reads everything and writes what it publishes; the operator writes specs and
 * certificates (and `acme/renew/`, for `fabric cert renew`). Leases need no key permission, but
 * revoking one needs write access to every key attached to it: each process attaches its leases
 * only to keys it may write.
 */
export function authPlan(prefix: string, hosts: readonly string[]): AuthPlan {
  const root = namespacePrefix(prefix);
  const rw = (under: string): Grant => ({ permission: 'Readwrite', prefix: `${root}${under}` });
  const readAll: Grant = { permission: 'Read', prefix: root };
  const agents = [...new Set(hosts)].map((host) => ({ name: agentUser(host), grants: [rw(`hosts/${host}/`)] }));
  return {
    roles: [
      ...agents,
      { name: 'router', grants: [readAll, rw('status/'), rw('vips/'), rw('acme/'), rw('certs/')] },
      { name: 'operator', grants: [readAll, rw('services/'), rw('routes/'), rw('certs/'), rw('acme/renew/')] },
    ],
  };
}

export function agentUser(host: string): string {
  return `agent-${host}`;
}

/** `--hosts a,b`: host names as the agent's --host-name takes them; at least one. */
export function parseHosts(text: string): string[] {
  const hosts = text
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  if (hosts.length === 0) throw new FabricError('FABRIC_ERR_CONFIG', "--hosts: expected host names, comma-separated (the agents' --host-name)");
  const bad = hosts.filter((h) => !hostName.safeParse(h).success);
  if (bad.length) throw new FabricError('FABRIC_ERR_CONFIG', `--hosts: not a host name: ${bad.map((h) => JSON.stringify(h)).join(', ')}`);
  return hosts;
}
