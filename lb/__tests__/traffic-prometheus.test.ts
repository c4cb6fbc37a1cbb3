// The traffic exporter's series (lb/traffic/prometheus.ts) over a synthetic model: every family is
// documented, and the series count stays within docs/metrics.md's bound at 1,000 services.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/metrics.js';
import { registerTrafficMetrics } from '../traffic/metrics.js';
import { slotOwners } from '../traffic/owners.js';
import { TRAFFIC_FAMILIES, trafficSamples } from '../traffic/prometheus.js';
import { CounterBaselines } from '../traffic/sampler.js';
import { parseShowInfo, trafficRows } from '../traffic/stat.js';
import { TrafficStore } from '../traffic/store.js';
import { desiredOf, type StatLine, statAnswer } from './traffic-fixtures.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const T0 = 1_796_000_000_000;

/** `services` services of `per` endpoints each, two reads a second apart. */
function storeOf(services: number, per: number): TrafficStore {
  const map: Record<string, string[]> = {};
  const lines: StatLine[] = [];
  for (let s = 0; s < services; s++) {
    map[`svc${s}`] = Array.from({ length: per }, (_, e) => `h${e}/c${s}-${e}`);
    for (let e = 0; e < per; e++) lines.push({ backend: `svc_svc${s}`, server: `s${e + 1}`, req: 10, c2xx: 9, c5xx: 1, rtime: 5 });
  }
  const desired = desiredOf(map);
  const owners = slotOwners(desired, []);
  const store = new TrafficStore();
  const b = new CounterBaselines(T0);
  for (const [i, scale] of [1, 2].entries()) {
    const text = statAnswer(lines.map((l) => ({ ...l, req: l.req! * scale, c2xx: l.c2xx! * scale, c5xx: l.c5xx! * scale })));
    store.ingest('haproxy-0', b.observe(trafficRows(text)!, parseShowInfo(text), owners, T0 + (i + 1) * 1_000));
  }
  return store;
}

function seriesCount(samples: Map<string, unknown[]>): number {
  let n = 0;
  for (const list of samples.values()) n += list.length;
  return n;
}

describe('traffic on /metrics', () => {
  it('documents every family in docs/metrics.md', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/metrics.md'), 'utf8');
    for (const f of TRAFFIC_FAMILIES) expect(doc).toContain(`| \`${f.name}\` |`);
  });

  it('exports per-service and per-endpoint series with the counted values', async () => {
    const store = storeOf(2, 2);
    const registry = createRegistry('router');
    registerTrafficMetrics(registry, store, 1_000);
    const text = await registry.metrics();
    expect(text).toContain('fabric_router_service_requests_total{service="svc0",component="router"} 40');
    expect(text).toContain('fabric_router_service_responses_total{service="svc0",code="5xx",component="router"} 4');
    expect(text).toContain('fabric_router_endpoint_requests_total{service="svc1",endpoint="h1/c1-1",component="router"} 20');
    expect(text).toContain('fabric_router_service_response_time_seconds{service="svc0",component="router"} 0.005');
    expect(text).toContain('fabric_router_traffic_endpoints_omitted{component="router"} 0');
  });

  it('stays within the documented bound with 1,000 services and 10,000 endpoints (cap 1,000)', () => {
    const store = storeOf(1_000, 10);
    const samples = trafficSamples(store, 1_000);
    const bound = 14 * 1_000 + 9 * 1_000 + 4;
    expect(seriesCount(samples)).toBeLessThanOrEqual(bound);
    expect(samples.get('fabric_router_endpoint_requests_total')).toHaveLength(1_000);
    expect(samples.get('fabric_router_traffic_endpoints_omitted')![0]!.value).toBe(9_000);
    // The same endpoints stay exported: the first 1,000 in (service, endpoint) order.
    const again = trafficSamples(store, 1_000).get('fabric_router_endpoint_requests_total')!;
    expect(again.map((s) => s.labels.endpoint)).toEqual(samples.get('fabric_router_endpoint_requests_total')!.map((s) => s.labels.endpoint));
    // The service series still count every endpoint.
    expect(samples.get('fabric_router_service_requests_total')!.find((s) => s.labels.service === 'svc999')!.value).toBe(200);
  });
});
