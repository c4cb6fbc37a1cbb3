import { STATUS_CLASSES } from './counters.js';
import { type Entity, type MemberEntity, sumGauges, type TrafficStore } from './store.js';

/** One metric family of the traffic exporter: what prom-client registers, and its samples now. */
export interface TrafficFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labelNames: readonly string[];
}

export interface TrafficSample {
  labels: Record<string, string>;
  value: number;
}

const CODES = [...STATUS_CLASSES, 'other'] as const;

/** Every family, in the order /metrics lists them (docs/metrics.md has a row for each). */
export const TRAFFIC_FAMILIES: readonly TrafficFamily[] = [
  { name: 'fabric_router_service_requests_total', help: 'Requests the load balancers sent to the service', type: 'counter', labelNames: ['service'] },
  { name: 'fabric_router_service_responses_total', help: 'Responses of the service, by status class', type: 'counter', labelNames: ['service', 'code'] },
  { name: 'fabric_router_service_connection_errors_total', help: 'Failed connections to the service', type: 'counter', labelNames: ['service'] },
  { name: 'fabric_router_service_retries_total', help: 'Retries and redispatches to another endpoint', type: 'counter', labelNames: ['service'] },
  { name: 'fabric_router_service_bytes_total', help: 'Bytes to (in) and from (out) the service', type: 'counter', labelNames: ['service', 'direction'] },
  {
    name: 'fabric_router_service_response_time_seconds',
    help: "HAProxy's average response time (last 1,024 requests)",
    type: 'gauge',
    labelNames: ['service'],
  },
  { name: 'fabric_router_service_sessions', help: 'Current sessions to the service', type: 'gauge', labelNames: ['service'] },
  { name: 'fabric_router_service_queue', help: 'Requests queued for the service', type: 'gauge', labelNames: ['service'] },
  {
    name: 'fabric_router_endpoint_requests_total',
    help: 'Requests sent to the endpoint (capped, see docs)',
    type: 'counter',
    labelNames: ['service', 'endpoint'],
  },
  {
    name: 'fabric_router_endpoint_responses_total',
    help: 'Responses of the endpoint, by status class (capped)',
    type: 'counter',
    labelNames: ['service', 'endpoint', 'code'],
  },
  {
    name: 'fabric_router_endpoint_response_time_seconds',
    help: "HAProxy's average response time of the endpoint (capped)",
    type: 'gauge',
    labelNames: ['service', 'endpoint'],
  },
  { name: 'fabric_router_endpoint_sessions', help: 'Current sessions to the endpoint (capped)', type: 'gauge', labelNames: ['service', 'endpoint'] },
  {
    name: 'fabric_router_route_requests_total',
    help: 'Requests a Route sent to one (service, version) group',
    type: 'counter',
    labelNames: ['route', 'service', 'version'],
  },
  {
    name: 'fabric_router_route_responses_total',
    help: "Responses of a Route's group, by status class",
    type: 'counter',
    labelNames: ['route', 'service', 'version', 'code'],
  },
  { name: 'fabric_router_traffic_endpoints_omitted', help: 'Endpoints past traffic.metricsEndpointCap: no per-endpoint series', type: 'gauge', labelNames: [] },
  { name: 'fabric_router_traffic_samples_total', help: 'Load-balancer counter reads taken into the traffic rings', type: 'counter', labelNames: [] },
  {
    name: 'fabric_router_traffic_resets_total',
    help: 'Reads that found fresh counters (a reload started a new HAProxy process)',
    type: 'counter',
    labelNames: [],
  },
  { name: 'fabric_router_traffic_ring_bytes', help: 'Memory held by the traffic rings', type: 'gauge', labelNames: [] },
];

/**
 * Pure: the samples of every family from the store. Services are all there; endpoints only the
 * first `endpointCap` in (service, endpoint) order, so the same ones stay exported as others come
 * and go past the cap; the rest are counted in `fabric_router_traffic_endpoints_omitted`. Series
 * per service: 14; per exported endpoint: 9; per route group: 7; plus 4.
 */
export function trafficSamples(store: TrafficStore, endpointCap: number): Map<string, TrafficSample[]> {
  const out = new Map<string, TrafficSample[]>(TRAFFIC_FAMILIES.map((f) => [f.name, []]));
  const push = (name: string, labels: Record<string, string>, value: number) => out.get(name)!.push({ labels, value });
  for (const s of store.services.values()) {
    const service = { service: s.name };
    push('fabric_router_service_requests_total', service, s.total.requests);
    for (const code of CODES) push('fabric_router_service_responses_total', { ...service, code }, s.total[code]);
    push('fabric_router_service_connection_errors_total', service, s.total.connectionErrors);
    push('fabric_router_service_retries_total', service, s.total.retries);
    push('fabric_router_service_bytes_total', { ...service, direction: 'in' }, s.total.bytesIn);
    push('fabric_router_service_bytes_total', { ...service, direction: 'out' }, s.total.bytesOut);
    const g = sumGauges(s);
    push('fabric_router_service_response_time_seconds', service, responseTimeS(s));
    push('fabric_router_service_sessions', service, g.sessions);
    push('fabric_router_service_queue', service, g.queue);
  }
  const keys = [...store.endpoints.keys()].sort();
  for (const key of keys.slice(0, endpointCap)) {
    const e = store.endpoints.get(key)!;
    const labels = { service: e.service, endpoint: e.endpoint! };
    push('fabric_router_endpoint_requests_total', labels, e.total.requests);
    for (const code of CODES) push('fabric_router_endpoint_responses_total', { ...labels, code }, e.total[code]);
    push('fabric_router_endpoint_response_time_seconds', labels, responseTimeS(e));
    push('fabric_router_endpoint_sessions', labels, sumGauges(e).sessions);
  }
  for (const v of store.versions.values()) {
    const labels = versionLabels(v);
    push('fabric_router_route_requests_total', labels, v.total.requests);
    for (const code of CODES) push('fabric_router_route_responses_total', { ...labels, code }, v.total[code]);
  }
  push('fabric_router_traffic_endpoints_omitted', {}, Math.max(0, keys.length - endpointCap));
  push('fabric_router_traffic_samples_total', {}, store.samples);
  push('fabric_router_traffic_resets_total', {}, store.resets);
  push('fabric_router_traffic_ring_bytes', {}, store.ringBytes());
  return out;
}

function versionLabels(v: MemberEntity): Record<string, string> {
  return { route: v.route!, service: v.service, version: v.version ?? '' };
}

/** The servers' last averages (HAProxy's rtime), in seconds; 0 when none says. */
function responseTimeS(e: Entity): number {
  const g = sumGauges(e);
  return g.rtCount > 0 ? g.rtSum / g.rtCount / 1000 : 0;
}
