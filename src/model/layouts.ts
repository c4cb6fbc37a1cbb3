import { endpointIdentity, parseEndpointKey, parseHostKey } from '../keyspace.js';
import type { Entry } from './entry.js';
import type { HostRecord } from './host.js';

type EndpointEntry = Entry & { kind: 'endpoint' };

/**
 * Pure: a service's endpoint entries, one per endpoint however many layouts hold it (an agent
 * being upgraded may leave both `endpoints/<service>/<host>/<id>` and `hosts/<host>/endpoints/…`
 * for a moment): the host-scoped key wins. In identity order, which is the order the older keys
 * sorted in, so the model is the same whichever layout the agents write.
 */
export function uniqueEndpoints(entries: Iterable<EndpointEntry>): EndpointEntry[] {
  const byIdentity = new Map<string, EndpointEntry>();
  for (const entry of entries) {
    const id = endpointIdentity(entry.endpoint);
    const held = byIdentity.get(id);
    if (!held || (isHostScoped(entry.key) && !isHostScoped(held.key))) byIdentity.set(id, entry);
  }
  return [...byIdentity.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, entry]) => entry);
}

function isHostScoped(key: string): boolean {
  return parseEndpointKey(key)?.layout === 'host';
}

/** Pure: host records, one per host (`hosts/<host>/info` wins over the older `hosts/<host>`). */
export function uniqueHosts(entries: Iterable<Entry & { kind: 'host' }>): HostRecord[] {
  const byName = new Map<string, { record: HostRecord; hostScoped: boolean }>();
  for (const entry of entries) {
    const hostScoped = parseHostKey(entry.key)?.layout === 'host';
    const held = byName.get(entry.host.name);
    if (!held || (hostScoped && !held.hostScoped)) byName.set(entry.host.name, { record: entry.host, hostScoped });
  }
  return [...byName.values()].map((h) => h.record);
}
