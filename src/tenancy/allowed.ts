import { z } from 'zod';
import { SERVICE_NAME } from '../grammar.js';

/**
 * Services bound to hosts (CONTRACT.md, "Least privilege and tenancy"): a Service spec's `hosts`
 * (globs of host names) and `pools` (agents' `--pool`) say where its endpoints may come from.
 * Pure; the router refuses the others (FABRIC_ERR_NOT_ALLOWED) and never serves them.
 */

/** Host-name characters and `*` (any run of them, dots included); nothing else, so no glob reaches a config. */
export const HOST_GLOB = /^[A-Za-z0-9._*-]{1,253}$/;

export const hostGlob = z.string().regex(HOST_GLOB, 'is not a host glob: host-name characters (A-Z a-z 0-9 . _ -) and *');
/** A pool name is spelled like a service name. */
export const poolName = z.string().regex(SERVICE_NAME, 'is not a pool name: a-z, 0-9 and "-", 1-63 characters');

/** What a spec allows; both absent: every host (the behaviour without them). */
export interface Allowed {
  hosts?: readonly string[];
  pools?: readonly string[];
}

/** Whether a spec restricts where its endpoints come from at all. */
export function restricts(allowed: Allowed | undefined): boolean {
  return allowed?.hosts !== undefined || allowed?.pools !== undefined;
}

/** A host may serve when it matches one of `hosts` or its pool is one of `pools` (either list may be given, or both). */
export function hostAllowed(allowed: Allowed | undefined, host: string, pool: string | undefined): boolean {
  if (!restricts(allowed)) return true;
  if (allowed?.hosts?.some((glob) => globMatches(glob, host))) return true;
  return pool !== undefined && (allowed?.pools?.includes(pool) ?? false);
}

/** Why a host is not allowed, for the report. */
export function refusal(allowed: Allowed, host: string, pool: string | undefined): string {
  const wants = [...(allowed.hosts ? [`hosts [${allowed.hosts.join(', ')}]`] : []), ...(allowed.pools ? [`pools [${allowed.pools.join(', ')}]`] : [])].join(
    ' or ',
  );
  // The pool only when the spec names pools: a spec of hosts alone does not depend on it.
  const where = !allowed.pools ? `host ${host}` : pool === undefined ? `host ${host} (no pool)` : `host ${host} (pool ${pool})`;
  return `${where} is not one of the service's ${wants}`;
}

const compiled = new Map<string, RegExp>();

function globMatches(glob: string, host: string): boolean {
  let re = compiled.get(glob);
  if (!re) {
    re = new RegExp(`^${glob.replace(/[.]/g, '\\.').replace(/\*/g, '[A-Za-z0-9._-]*')}$`);
    if (compiled.size > 1_000) compiled.clear();
    compiled.set(glob, re);
  }
  return re.test(host);
}
