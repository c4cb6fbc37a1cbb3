import type { Counters } from './counters.js';
import { POINT_MS, type PointSeries } from './ring.js';
import { E, type Entity, type MemberEntity, S, type ServiceEntity, sumGauges, type TrafficStore } from './store.js';

/** How many points `/v1/traffic`'s sparklines carry (5 minutes). */
export const SPARK_POINTS = 60;

/**
 * Pure: the API's `traffic` object of one service (docs/traffic.md). Rates are per second over the
 * current window (the last closed 5-s point and the open one: 5–10 s). Null while no source samples
 * traffic, or before this service's first sample.
 */
export function serviceTraffic(store: TrafficStore, name: string, withSeries = false) {
  const found = store.services.get(name);
  if (!found) return null;
  const s = store.current(found);
  const members = (keys: Set<string>, map: Map<string, MemberEntity>) =>
    [...keys]
      .map((k) => map.get(k))
      .filter((m): m is MemberEntity => m !== undefined)
      .map((m) => store.current(m));
  const windowRequests = s.series.window(S.requests);
  const endpoints = members(s.endpoints, store.endpoints)
    .sort((a, b) => a.endpoint!.localeCompare(b.endpoint!))
    .map((e) => {
      const [host, container] = splitEndpoint(e.endpoint!);
      return {
        // The key /v1/routes, /v1/timeline and the health checks use: `<service>/<host>/<container>`.
        endpoint: `${name}/${e.endpoint!}`,
        host,
        container,
        ...memberFigures(e, windowRequests),
        sessions: sumGauges(e).sessions,
        responseTimeMs: gaugeResponseTime(e),
        ...(withSeries ? { series: memberSeries(e.series) } : {}),
      };
    });
  const versions = members(s.versions, store.versions)
    .sort((a, b) => a.route!.localeCompare(b.route!) || (a.version ?? '').localeCompare(b.version ?? ''))
    .map((v) => ({
      route: v.route!,
      service: v.service,
      version: v.version ?? null,
      ...memberFigures(v, routeWindow(store, s, v.route!)),
      ...(withSeries ? { series: memberSeries(v.series) } : {}),
    }));
  const ms = s.series.windowMs();
  const gauges = sumGauges(s);
  const windowResponses = [S['1xx'], S['2xx'], S['3xx'], S['4xx'], S['5xx'], S.other].reduce((sum, f) => sum + s.series.window(f), 0);
  return {
    service: name,
    since: iso(s.series.firstAt),
    sampledAt: iso(s.series.lastAt),
    total: totals(s.total),
    requestsPerSecond: rate(windowRequests, ms),
    errorsPerSecond: rate(s.series.window(S['5xx']), ms),
    errorRate: share(s.series.window(S['5xx']), windowResponses),
    responseTimeMs: serviceResponseTime(s),
    sessions: gauges.sessions,
    queue: gauges.queue,
    windowMs: ms,
    endpoints,
    versions,
    ...(withSeries ? { series: serviceSeries(s.series, (index) => store.samplesIn(index)) } : {}),
  };
}

export type ServiceTrafficView = NonNullable<ReturnType<typeof serviceTraffic>>;

/** Pure: `/v1/traffic`, the compact summary of every service (the dashboard's list). */
export function trafficSummary(store: TrafficStore) {
  const services: Record<string, { requestsPerSecond: number; errorRate: number; responseTimeMs: number | null; spark: number[]; sparkErrors: number[] }> = {};
  for (const s of [...store.services.values()].sort((a, b) => a.name.localeCompare(b.name)).map((s) => store.current(s))) {
    const ms = s.series.windowMs();
    const windowResponses = [S['1xx'], S['2xx'], S['3xx'], S['4xx'], S['5xx'], S.other].reduce((sum, f) => sum + s.series.window(f), 0);
    const points = s.series.points(SPARK_POINTS);
    const pad = new Array<number>(SPARK_POINTS - points.length).fill(0);
    services[s.name] = {
      requestsPerSecond: rate(s.series.window(S.requests), ms),
      errorRate: share(s.series.window(S['5xx']), windowResponses),
      responseTimeMs: serviceResponseTime(s),
      spark: [...pad, ...points.map((p) => perSecond(p.get(S.requests)))],
      sparkErrors: [...pad, ...points.map((p) => perSecond(p.get(S['5xx'])))],
    };
  }
  return { sampledAt: store.sampledAt === undefined ? null : iso(store.sampledAt), services };
}

function memberFigures(m: MemberEntity, ofRequests: number) {
  const ms = m.series.windowMs();
  const requests = m.series.window(E.requests);
  return {
    requests: m.total.requests,
    requestsPerSecond: rate(requests, ms),
    '5xx': m.total['5xx'],
    errorRate: share(m.series.window(E['5xx']), m.series.window(E.responses)),
    share: share(requests, ofRequests),
  };
}

/** A version's share is of its route's requests in the window, not of its service's. */
function routeWindow(store: TrafficStore, s: ServiceEntity, route: string): number {
  let sum = 0;
  for (const v of store.versions.values()) if (v.route === route) sum += store.current(v).series.window(E.requests);
  return sum || s.series.window(S.requests);
}

function totals(c: Counters) {
  return { ...c };
}

/** `samplesIn`: how many samples a point spans; its gauge sums (sessions, queue) are averaged over them. */
function serviceSeries(series: PointSeries, samplesIn: (index: number) => number) {
  return series.points(Number.POSITIVE_INFINITY).map((p) => {
    const samples = samplesIn(p.index);
    const rtWeight = p.get(S.rtWeight);
    return {
      at: iso(p.index * POINT_MS),
      requestsPerSecond: perSecond(p.get(S.requests)),
      '1xx': perSecond(p.get(S['1xx'])),
      '2xx': perSecond(p.get(S['2xx'])),
      '3xx': perSecond(p.get(S['3xx'])),
      '4xx': perSecond(p.get(S['4xx'])),
      '5xx': perSecond(p.get(S['5xx'])),
      responseTimeMs: rtWeight > 0 ? round(p.get(S.rtSum) / rtWeight) : null,
      sessions: samples > 0 ? round(p.get(S.sessions) / samples) : 0,
      queue: samples > 0 ? round(p.get(S.queue) / samples) : 0,
      bytesInPerSecond: perSecond(p.get(S.bytesIn)),
      bytesOutPerSecond: perSecond(p.get(S.bytesOut)),
    };
  });
}

function memberSeries(series: PointSeries) {
  return series.points(Number.POSITIVE_INFINITY).map((p) => ({
    at: iso(p.index * POINT_MS),
    requestsPerSecond: perSecond(p.get(E.requests)),
    '5xx': perSecond(p.get(E['5xx'])),
  }));
}

/** HAProxy's rtime averaged over the window's requests; when idle, the servers' last averages; null if none says. */
function serviceResponseTime(s: ServiceEntity): number | null {
  const weight = s.series.window(S.rtWeight);
  if (weight > 0) return round(s.series.window(S.rtSum) / weight);
  return gaugeResponseTime(s);
}

function gaugeResponseTime(e: Entity): number | null {
  const g = sumGauges(e);
  return g.rtCount > 0 ? round(g.rtSum / g.rtCount) : null;
}

function splitEndpoint(endpoint: string): [string, string] {
  const slash = endpoint.indexOf('/');
  return slash < 0 ? [endpoint, ''] : [endpoint.slice(0, slash), endpoint.slice(slash + 1)];
}

function rate(count: number, ms: number): number {
  return ms > 0 ? round((count * 1000) / ms) : 0;
}

function perSecond(count: number): number {
  return round((count * 1000) / POINT_MS);
}

function share(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : 0;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
