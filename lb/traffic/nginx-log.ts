import type { Model } from '../model.js';
import { routeUpstreamName, upstreamName } from '../nginx/view.js';
import { zeroCounters } from './counters.js';
import type { SlotOwner } from './owners.js';
import type { Observation, Sample } from './sampler.js';

/** One proxied request as nginx logged it (`log_format fabric_traffic` in templates/nginx.conf.hbs). */
export interface NginxRequest {
  upstream: string;
  /** The upstream that answered last (after retries). */
  address: string;
  status: number | undefined;
  /** Upstreams tried beyond the first. */
  retries: number;
  responseTimeMs: number | undefined;
  bytesIn: number;
  bytesOut: number;
}

/**
 * Pure: `$proxy_host|$upstream_addr|$upstream_status|$status|$upstream_response_time|$request_length|$bytes_sent`.
 * Retried requests list every upstream tried (`a:1, b:2`): the last one answered. Undefined for a
 * line that proxied nothing (`-` upstream) or is cut.
 */
export function parseNginxLine(line: string): NginxRequest | undefined {
  const f = line.split('|');
  if (f.length < 7 || f[1] === '-' || f[1] === '') return undefined;
  const addresses = f[1]!.split(/, | : /);
  const statuses = f[2]!.split(/, | : /);
  const times = f[4]!.split(/, | : /);
  const last = (list: string[]) => list[list.length - 1]!;
  const status = Number(last(statuses));
  const time = Number(last(times));
  return {
    upstream: f[0]!,
    address: last(addresses),
    status: Number.isFinite(status) && status >= 100 ? status : Number(f[3]) || undefined,
    retries: addresses.length - 1,
    responseTimeMs: Number.isFinite(time) && last(times) !== '-' ? time * 1000 : undefined,
    bytesIn: Number(f[5]) || 0,
    bytesOut: Number(f[6]) || 0,
  };
}

/** Upstream name → upstream address (`ip:port`) → owner, from the model nginx serves. */
export function nginxOwners(model: Model): Map<string, Map<string, SlotOwner>> {
  const owners = new Map<string, Map<string, SlotOwner>>();
  const address = (e: { address: string; port: number }) => (e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`);
  for (const service of model.services) {
    owners.set(
      upstreamName(service.name),
      new Map(service.endpoints.map((e) => [address(e), { service: service.name, endpoint: `${e.host}/${e.container}` }])),
    );
  }
  for (const route of model.weightedRoutes ?? []) {
    const byAddress = new Map<string, SlotOwner>();
    for (const group of route.groups) {
      for (const s of group.servers) {
        byAddress.set(address(s.endpoint), {
          service: group.service,
          endpoint: `${s.endpoint.host}/${s.endpoint.container}`,
          route: route.name,
          version: group.version ?? null,
        });
      }
    }
    owners.set(routeUpstreamName(route.name), byAddress);
  }
  return owners;
}

/**
 * Pure: the requests logged over (from, at] as one sample: per (upstream, address) the counts and
 * the mean response time. nginx gives no sessions, queue or connection errors (docs/traffic.md).
 */
export function nginxSample(requests: readonly NginxRequest[], owners: Map<string, Map<string, SlotOwner>>, from: number, at: number): Sample {
  const byOwner = new Map<SlotOwner, Observation & { rtSum: number; rtCount: number }>();
  for (const r of requests) {
    const owner = owners.get(r.upstream)?.get(r.address);
    if (!owner) continue;
    let o = byOwner.get(owner);
    if (!o)
      byOwner.set(
        owner,
        (o = { service: owner.service, owner, delta: zeroCounters(), sessions: 0, queue: 0, responseTimeMs: undefined, rtSum: 0, rtCount: 0 }),
      );
    const d = o.delta!;
    d.requests += 1;
    const klass = r.status === undefined ? 'other' : r.status >= 100 && r.status < 600 ? (`${Math.floor(r.status / 100)}xx` as '1xx') : 'other';
    d[klass] += 1;
    d.retries += r.retries;
    d.bytesIn += r.bytesIn;
    d.bytesOut += r.bytesOut;
    if (r.responseTimeMs !== undefined) {
      o.rtSum += r.responseTimeMs;
      o.rtCount += 1;
    }
  }
  const observations: Observation[] = [];
  for (const { rtSum, rtCount, ...o } of byOwner.values()) observations.push({ ...o, responseTimeMs: rtCount > 0 ? rtSum / rtCount : undefined });
  return { at, from, observations, reset: false };
}
