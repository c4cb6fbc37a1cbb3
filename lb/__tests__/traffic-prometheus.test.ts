// The traffic exporter's series (lb/traffic/prometheus.ts) over a synthetic model: every family is
// documented, and the series count stays within docs/metrics.md's bound at 1,000 services.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { slotOwners } from '../traffic/owners.js';
import { TRAFFIC_FAMILIES, trafficExposition } from '../traffic/prometheus.js';
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

/** The series lines of an exposition text, by family. */
function seriesOf(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = /^[a-z_]+/.exec(line)![0];
    out.set(name, [...(out.get(name) ?? []), line]);
  }
  return out;
}

const value = (line: string) => Number(line.slice(line.lastIndexOf(' ') + 1));

describe('traffic on /metrics', () => {
  it('documents every family in docs/metrics.md', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/metrics.md'), 'utf8');
    for (const f of TRAFFIC_FAMILIES) expect(doc).toContain(`| \`${f.name}\` |`);
  });

  it('exports per-service and per-endpoint series with the counted values', async () => {
    const store = storeOf(2, 2);
    const text = (await trafficExposition(store, 1_000, { component: 'router' })).join('');
    expect(text).toContain('fabric_router_service_requests_total{service="svc0",component="router"} 40');
    expect(text).toContain('fabric_router_service_responses_total{service="svc0",code="5xx",component="router"} 4');
    expect(text).toContain('fabric_router_endpoint_requests_total{service="svc1",endpoint="h1/c1-1",component="router"} 20');
    expect(text).toContain('fabric_router_service_response_time_seconds{service="svc0",component="router"} 0.005');
    expect(text).toContain('fabric_router_traffic_endpoints_omitted{component="router"} 0');
  });

  it('stays within the documented bound with 1,000 services and 10,000 endpoints (cap 1,000)', async () => {
    const store = storeOf(1_000, 10);
    let pauses = 0;
    const text = (
      await trafficExposition(store, 1_000, {}, async () => {
        pauses += 1;
      })
    ).join('');
    // Written in steps: the event loop gets a turn every 500 entities.
    expect(pauses).toBeGreaterThanOrEqual(3);
    const series = seriesOf(text);
    const count = [...series.values()].reduce((n, lines) => n + lines.length, 0);
    expect(count).toBeLessThanOrEqual(14 * 1_000 + 9 * 1_000 + 4);
    expect(series.get('fabric_router_endpoint_requests_total')).toHaveLength(1_000);
    expect(value(series.get('fabric_router_traffic_endpoints_omitted')![0]!)).toBe(9_000);
    // The same endpoints stay exported: the first 1,000 in (service, endpoint) order.
    const again = seriesOf((await trafficExposition(store, 1_000)).join('')).get('fabric_router_endpoint_requests_total');
    expect(again).toEqual(series.get('fabric_router_endpoint_requests_total'));
    expect(series.get('fabric_router_endpoint_requests_total')![0]).toContain('service="svc0",endpoint="h0/c0-0"');
    // The service series still count every endpoint.
    expect(value(series.get('fabric_router_service_requests_total')!.find((l) => l.includes('service="svc999"'))!)).toBe(200);
  });

  it('writes the text format as prom-client does: HELP and TYPE per family, escaped label values', async () => {
    const store = storeOf(1, 1);
    const odd = store.services.get('svc0')!;
    store.services.delete('svc0');
    store.services.set('a"b\\c\nd', { ...odd, name: 'a"b\\c\nd' });
    const text = (await trafficExposition(store, 0, { component: 'router' })).join('');
    expect(text).toContain(
      '# HELP fabric_router_service_requests_total Requests the load balancers sent to the service\n# TYPE fabric_router_service_requests_total counter\n',
    );
    expect(text).toContain('fabric_router_service_requests_total{service="a\\"b\\\\c\\nd",component="router"} 20\n');
    expect(text).toContain('fabric_router_traffic_ring_bytes{component="router"} ');
    expect(text.endsWith('\n')).toBe(true);
  });
});
