import type { HostRecord } from '../../src/model/host.js';
import type { ServiceSpec } from '../../src/model/service.js';
import { hostAllowed, refusal, restricts } from '../../src/tenancy/allowed.js';
import type { EndpointEntry } from '../store.js';
import type { ModelIssue } from './types.js';

/** Host name → its agent's `--pool` (undefined: none), from the host records. */
export type HostPools = ReadonlyMap<string, string | undefined>;

export function hostPools(hosts: readonly HostRecord[]): HostPools {
  return new Map(hosts.map((h) => [h.name, h.pool]));
}

/**
 * Pure: the entries a spec's `hosts`/`pools` allow (all of them without either), and an issue
 * per endpoint refused. `exempt`: keys the spec itself defines (its static endpoints).
 */
export function allowedEndpoints(
  service: string,
  spec: ServiceSpec | undefined,
  entries: EndpointEntry[],
  pools: HostPools,
  exempt: ReadonlySet<string>,
  issues: ModelIssue[],
): EndpointEntry[] {
  if (!restricts(spec)) return entries;
  return entries.filter((entry) => {
    const { host, container, name } = entry.endpoint;
    const pool = pools.get(host);
    if (exempt.has(entry.key) || hostAllowed(spec, host, pool)) return true;
    const reason = refusal(spec!, host, pool);
    issues.push({
      code: 'FABRIC_ERR_NOT_ALLOWED',
      subject: `services/${service}`,
      message: `endpoint ${name} (${container.slice(0, 12)}) on host ${host} refused: ${reason}; it is not served`,
      container: { host, id: container, name, reason },
    });
    return false;
  });
}

/** The pools as one string: a derivation of a service with `pools` stays valid while it is the same. */
export function poolsSignature(pools: HostPools): string {
  return JSON.stringify([...pools].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
