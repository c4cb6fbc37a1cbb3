// Traffic through a real HAProxy: the router's counters (read over the admin socket) in
// /v1/services/<name>/traffic, /v1/traffic and /metrics match the requests sent: 5xx counted,
// a 90/10 route split per version, and counters that survive a reload with no negative rate.
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/index.js';
import { endpoint, putEndpoint, putRaw, useRouterSuite, waitFor } from './support.js';
import { loadThrough, startFailingBackend } from './traffic-support.js';

// HAProxy runs the checks (the default): traffic rides on the health read-back's read.
const exporterPort = await freePort();
const suite = useRouterSuite({
  router: { config: { traffic: { sampleInterval: '1s' } }, haproxy: { prometheus: `127.0.0.1:${exporterPort}` } },
});

function load(host: string, n: number, fail?: (i: number) => boolean): Promise<Map<string, number>> {
  return loadThrough((pathname, opts) => suite.router.request(host, pathname, opts), n, fail);
}

async function traffic(service: string): Promise<any> {
  const r = await suite.router.get(`/v1/services/${service}/traffic`);
  expect(r.status).toBe(200);
  return r.json;
}

/** Until the router has counted at least `requests` for `service` (one sample is at most a second old). */
async function waitCounted(service: string, requests: number): Promise<any> {
  return waitFor(
    async () => {
      const t = await traffic(service);
      return (t.total?.requests ?? 0) >= requests ? t : undefined;
    },
    { timeoutMs: 15_000, what: `${service}: ${requests} requests counted` },
  );
}

function noNegative(t: any): void {
  const values = [
    t.requestsPerSecond,
    t.errorsPerSecond,
    ...Object.values(t.total ?? {}),
    ...(t.series ?? []).flatMap((p: any) => [p.requestsPerSecond, p['5xx'], p['2xx']]),
  ];
  for (const v of values) expect(v as number).toBeGreaterThanOrEqual(0);
}

describe('traffic (HAProxy)', () => {
  beforeAll(async () => {
    const port = await startFailingBackend(suite.file, 'web-1');
    await putRaw(suite.client, 'services/web', JSON.stringify({ kind: 'Service', name: 'web', domains: ['web.example.com'] }));
    const rev = await putEndpoint(suite.client, endpoint({ service: 'web', port, name: 'web-1' }));
    await suite.router.waitApplied(rev);
    await waitFor(async () => (await suite.router.request('web.example.com')).status === 200, { what: 'web served' });
  });

  it('counts 200 requests of which 50 are 5xx, per service and endpoint, with a plausible rate', async () => {
    const before = (await traffic('web')).total?.requests ?? 0;
    const started = Date.now();
    const counts = await load('web.example.com', 200, (i) => i % 4 === 0);
    const seconds = (Date.now() - started) / 1000;
    expect(counts.get('500 web-1')).toBe(50);
    expect(counts.get('200 web-1')).toBe(150);
    const t = await waitCounted('web', before + 200);
    expect(t.total.requests - before).toBeGreaterThanOrEqual(200);
    expect(t.total.requests - before).toBeLessThanOrEqual(203);
    expect(t.total['5xx']).toBe(50);
    expect(t.total['2xx']).toBeGreaterThanOrEqual(150);
    expect(t.endpoints).toHaveLength(1);
    expect(t.endpoints[0]['5xx']).toBe(50);
    // The window's rate (5–10 s) is at most what was sent, at most per second of the load.
    const wanted = 200 / Math.max(seconds, 1);
    expect(t.requestsPerSecond).toBeGreaterThan(0);
    expect(t.requestsPerSecond).toBeLessThanOrEqual(wanted * 1.5 + 1);
    // 5xx share over the window: the load was a quarter errors (the checks' requests are not counted).
    expect(t.errorRate).toBeGreaterThan(0.15);
    expect(t.errorRate).toBeLessThanOrEqual(0.3);
    noNegative(t);
    const list = (await suite.router.get('/v1/services')).json as any;
    const web = list.services.find((s: any) => s.name === 'web');
    expect(web.traffic.total['5xx']).toBe(50);
    const summary = (await suite.router.get('/v1/traffic')).json as any;
    expect(summary.services.web.spark).toHaveLength(60);
    expect(summary.sampledAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('splits a 90/10 route per version over 1,000 requests, errors on the version that served them', async () => {
    const ports = await Promise.all(['v1', 'v2'].map((v) => startFailingBackend(suite.file, `shop-${v}`)));
    await putRaw(suite.client, 'services/shop', JSON.stringify({ kind: 'Service', name: 'shop' }));
    await putEndpoint(suite.client, endpoint({ service: 'shop', port: ports[0]!, version: 'v1', name: 'shop-v1' }));
    await putEndpoint(suite.client, endpoint({ service: 'shop', port: ports[1]!, version: 'v2', name: 'shop-v2' }));
    const route = {
      kind: 'Route',
      name: 'shop-canary',
      host: 'shop.example.com',
      backends: [
        { service: 'shop', version: 'v1', weight: 90 },
        { service: 'shop', version: 'v2', weight: 10 },
      ],
    };
    const rev = await putRaw(suite.client, 'routes/shop-canary', JSON.stringify(route));
    await suite.router.waitApplied(rev);
    await waitFor(async () => (await suite.router.request('shop.example.com')).status === 200, { what: 'shop served' });
    const counts = await load('shop.example.com', 1_000);
    const v2 = counts.get('200 shop-v2') ?? 0;
    const served = await waitFor(
      async () => {
        const t = await traffic('shop');
        const versions = t.versions as any[];
        const sum = versions.reduce((s, v) => s + v.requests, 0);
        return sum >= 1_000 ? versions : undefined;
      },
      { timeoutMs: 15_000, what: 'shop: 1,000 route requests counted' },
    );
    const byVersion = Object.fromEntries(served.map((v: any) => [v.version, v]));
    expect(byVersion.v1.route).toBe('shop-canary');
    // The router's count per version is what the backends saw (±the first request that proved it served).
    expect(Math.abs(byVersion.v2.requests - v2)).toBeLessThanOrEqual(3);
    const share = byVersion.v2.requests / (byVersion.v1.requests + byVersion.v2.requests);
    expect(share).toBeGreaterThan(0.05);
    expect(share).toBeLessThan(0.15);

    // Errors served by v2 only: send /fail until v2 answered 40 of them (v1 answers /fail with 500 too, so count by body).
    const failed = await load('shop.example.com', 400, () => true);
    const v2Errors = failed.get('500 shop-v2') ?? 0;
    const v1Errors = failed.get('500 shop-v1') ?? 0;
    const after = await waitFor(
      async () => {
        const t = await traffic('shop');
        const v = Object.fromEntries((t.versions as any[]).map((x) => [x.version, x]));
        return v.v1['5xx'] + v.v2['5xx'] >= 400 ? v : undefined;
      },
      { timeoutMs: 15_000, what: 'shop: 400 errors counted' },
    );
    expect(after.v2['5xx']).toBe(v2Errors);
    expect(after.v1['5xx']).toBe(v1Errors);
    expect(Array.isArray(after.v2.series)).toBe(true);
  });

  it('keeps counting across a reload, with no negative rate', async () => {
    const before = await traffic('web');
    const reloads = (await suite.router.reloads()).master;
    // A service of another balance has no spare: it forces a reload.
    const port = await startFailingBackend(suite.file, 'other-1');
    await putRaw(suite.client, 'services/other', JSON.stringify({ kind: 'Service', name: 'other', balance: 'leastconn' }));
    const rev = await putEndpoint(suite.client, endpoint({ service: 'other', port, name: 'other-1' }));
    await suite.router.waitApplied(rev);
    await waitFor(async () => (await suite.router.reloads()).master > reloads, { what: 'a reload' });
    await load('web.example.com', 100);
    const t = await waitCounted('web', before.total.requests + 100);
    expect(t.total.requests - before.total.requests).toBeLessThanOrEqual(103);
    expect(t.total['5xx']).toBe(before.total['5xx']);
    noNegative(t);
    // The 5-s points: a closed one shows the load (and no point is negative).
    const series = await waitFor(
      async () => {
        const s = await traffic('web');
        return (s.series as any[]).some((p) => p.requestsPerSecond > 0) ? s : undefined;
      },
      { timeoutMs: 15_000, what: 'a 5-s point with requests' },
    );
    noNegative(series);
    expect(series.series.at(-1).at).toMatch(/^\d{4}-\d\d-\d\dT/);
    const status = await suite.router.status();
    expect(status.traffic.resets).toBeGreaterThanOrEqual(1);
  });

  it("puts the documented series on /metrics, and HAProxy's own exporter on its listener", async () => {
    const text = await suite.router.metricsText();
    for (const name of [
      'fabric_router_service_requests_total',
      'fabric_router_service_responses_total',
      'fabric_router_endpoint_requests_total',
      'fabric_router_route_requests_total',
    ]) {
      expect(text).toContain(`${name}{`);
    }
    expect(await suite.router.metric('fabric_router_service_responses_total', { service: 'web', code: '5xx' })).toBe(50);
    const exporter = await fetch(`http://127.0.0.1:${exporterPort}/metrics`);
    expect(exporter.status).toBe(200);
    expect(await exporter.text()).toContain('haproxy_backend_http_responses_total');
  });

  it('pushes event: traffic on /v1/events with the summary', async () => {
    const controller = new AbortController();
    const response = await fetch(`${suite.router.url}/v1/events`, { signal: controller.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    try {
      const deadline = Date.now() + 10_000;
      while (!/event: traffic\ndata: .*\n\n/.test(text) && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value);
      }
    } finally {
      controller.abort();
    }
    const data = /event: traffic\ndata: (.*)\n\n/.exec(text)?.[1];
    expect(data).toBeDefined();
    const summary = JSON.parse(data!);
    expect(summary.services.web.spark).toHaveLength(60);
    // The snapshot leaves traffic to its own event.
    const snapshot = /event: snapshot\ndata: (.*)\n\n/.exec(text)?.[1];
    expect(JSON.parse(snapshot!).services.services[0].traffic).toBeUndefined();
  });
});
