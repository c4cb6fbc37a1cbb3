import { nextTurn } from '../../src/concurrency.js';
import { STATUS_CLASSES } from './counters.js';
import { type Entity, sumGauges, type TrafficStore } from './store.js';

/** One metric family of the traffic exporter. */
export interface TrafficFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labelNames: readonly string[];
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

/** Entities written between two turns of the event loop: at 10,000 services a scrape is ~140,000 series. */
const STEP = 500;

const LINES_PER_PIECE = 5_000;

/**
 * The exposition text of every family (Prometheus text format, as prom-client writes it), in pieces,
 * built
 * from the store in steps of STEP entities with a turn of the event loop between them (`pause`).
 * Written directly: through prom-client's label objects a scrape at 10,000 services blocked the
 * router for over a second. Services are all there; endpoints only the first `endpointCap` in
 * (service, endpoint) order, so the same ones stay exported as others come and go past the cap;
 * the rest are counted in `fabric_router_traffic_endpoints_omitted`. Series per service: 14; per
 * exported endpoint: 9; per route group: 7; plus 4.
 */
export async function trafficExposition(
  store: TrafficStore,
  endpointCap: number,
  defaultLabels: Record<string, string> = {},
  pause: () => Promise<void> = nextTurn,
): Promise<string[]> {
  const out = new Exposition(defaultLabels);
  let n = 0;
  const step = async () => {
    if (++n % STEP === 0) await pause();
  };
  for (const s of store.services.values()) {
    const service = label('service', s.name);
    out.put('fabric_router_service_requests_total', service, s.total.requests);
    for (const code of CODES) out.put('fabric_router_service_responses_total', `${service},code="${code}"`, s.total[code]);
    out.put('fabric_router_service_connection_errors_total', service, s.total.connectionErrors);
    out.put('fabric_router_service_retries_total', service, s.total.retries);
    out.put('fabric_router_service_bytes_total', `${service},direction="in"`, s.total.bytesIn);
    out.put('fabric_router_service_bytes_total', `${service},direction="out"`, s.total.bytesOut);
    const g = sumGauges(s);
    out.put('fabric_router_service_response_time_seconds', service, responseTimeS(s));
    out.put('fabric_router_service_sessions', service, g.sessions);
    out.put('fabric_router_service_queue', service, g.queue);
    await step();
  }
  const keys = store.sortedEndpointKeys();
  for (const key of keys.slice(0, endpointCap)) {
    const e = store.endpoints.get(key)!;
    const labels = `${label('service', e.service)},${label('endpoint', e.endpoint!)}`;
    out.put('fabric_router_endpoint_requests_total', labels, e.total.requests);
    for (const code of CODES) out.put('fabric_router_endpoint_responses_total', `${labels},code="${code}"`, e.total[code]);
    out.put('fabric_router_endpoint_response_time_seconds', labels, responseTimeS(e));
    out.put('fabric_router_endpoint_sessions', labels, sumGauges(e).sessions);
    await step();
  }
  for (const v of store.versions.values()) {
    const labels = `${label('route', v.route!)},${label('service', v.service)},${label('version', v.version ?? '')}`;
    out.put('fabric_router_route_requests_total', labels, v.total.requests);
    for (const code of CODES) out.put('fabric_router_route_responses_total', `${labels},code="${code}"`, v.total[code]);
    await step();
  }
  out.put('fabric_router_traffic_endpoints_omitted', '', Math.max(0, keys.length - endpointCap));
  out.put('fabric_router_traffic_samples_total', '', store.samples);
  out.put('fabric_router_traffic_resets_total', '', store.resets);
  out.put('fabric_router_traffic_ring_bytes', '', store.ringBytes());
  return out.pieces(pause);
}

/** Each family's lines, kept apart while the entities are walked once, then written family by family. */
class Exposition {
  private readonly lines = new Map<string, string[]>(TRAFFIC_FAMILIES.map((f) => [f.name, []]));
  private readonly suffix: string;

  constructor(defaultLabels: Record<string, string>) {
    this.suffix = Object.entries(defaultLabels)
      .map(([name, value]) => label(name, value))
      .join(',');
  }

  put(family: string, labels: string, value: number): void {
    const all = labels && this.suffix ? `${labels},${this.suffix}` : labels || this.suffix;
    this.lines.get(family)!.push(all ? `${family}{${all}} ${valueText(value)}` : `${family} ${valueText(value)}`);
  }

  /** The text in pieces of at most LINES_PER_PIECE lines, a turn of the event loop between them: one 13 MB join blocked for ~100 ms. */
  async pieces(pause: () => Promise<void>): Promise<string[]> {
    const pieces: string[] = [];
    for (const f of TRAFFIC_FAMILIES) {
      const lines = this.lines.get(f.name)!;
      pieces.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${f.name} ${f.type}\n`);
      for (let i = 0; i < lines.length; i += LINES_PER_PIECE) {
        pieces.push(`${lines.slice(i, i + LINES_PER_PIECE).join('\n')}\n`);
        await pause();
      }
    }
    return pieces;
  }
}

/** `name="value"`, the value escaped as the text format asks (backslash, newline, double quote). */
function label(name: string, value: string): string {
  const escaped = /[\\\n"]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : value;
  return `${name}="${escaped}"`;
}

function valueText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

/** The servers' last averages (HAProxy's rtime), in seconds; 0 when none says. */
function responseTimeS(e: Entity): number {
  const g = sumGauges(e);
  return g.rtCount > 0 ? g.rtSum / g.rtCount / 1000 : 0;
}
