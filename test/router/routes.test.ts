// Weighted canary routes (kind: Route) through a real HAProxy: the split measured over real
// requests, weight moves with no reload, and cookie stickiness.
import http from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { endpoint, putEndpoint, putRaw, startWebServers, useRouterSuite, waitFor } from './support.js';

const HOST = 'shop.example.com';
const suite = useRouterSuite();

beforeAll(async () => {
  // Three v1 replicas and one v2: bodies name the version.
  const servers = await startWebServers(suite.file, ['v1', 'v1', 'v1', 'v2']);
  await putRaw(suite.client, 'services/shop', JSON.stringify({ kind: 'Service', name: 'shop', domains: [HOST] }));
  for (const [i, s] of servers.entries()) {
    await putEndpoint(suite.client, endpoint({ service: 'shop', port: s.port, version: s.body, name: `shop-${i}` }));
  }
});

function putRoute(weights: [number, number], extra: Record<string, unknown> = {}): Promise<number> {
  const route = {
    kind: 'Route',
    name: 'shop-canary',
    host: HOST,
    backends: [
      { service: 'shop', version: 'v1', weight: weights[0] },
      { service: 'shop', version: 'v2', weight: weights[1] },
    ],
    ...extra,
  };
  return putRaw(suite.client, 'routes/shop-canary', JSON.stringify(route));
}

/** GET through HAProxy with optional cookie; fresh connection each time. */
function get(cookie?: string): Promise<{ body: string; setCookie: string[] }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: suite.router.httpPort, path: '/', headers: { host: HOST, ...(cookie ? { cookie } : {}) }, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ body: res.statusCode === 200 ? body : `HTTP ${res.statusCode}`, setCookie: res.headers['set-cookie'] ?? [] }));
        res.on('error', reject);
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Percent of `n` requests (8 in flight) answered by v2. */
async function v2Percent(n: number): Promise<number> {
  const counts = new Map<string, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next++ < n) {
        const { body } = await get();
        counts.set(body, (counts.get(body) ?? 0) + 1);
      }
    }),
  );
  expect([...counts.keys()].sort(), 'only v1 and v2 answer').toEqual(['v1', 'v2']);
  return ((counts.get('v2') ?? 0) / n) * 100;
}

async function routeView(): Promise<any> {
  return (await suite.router.get('/v1/routes')).json.routes.find((r: any) => r.name === 'shop-canary');
}

describe('weighted routes', () => {
  it('splits 90/10 over 2,000 requests, then moves to 50/50 with no reload', async () => {
    await suite.router.waitApplied(await putRoute([90, 10]));
    const view = await routeView();
    expect(view).toMatchObject({ active: true, backend: 'route_shop-canary', conflicts: [] });
    expect(view.backends.map((b: any) => [b.version, b.weight, b.endpoints])).toEqual([
      ['v1', 90, 3],
      ['v2', 10, 1],
    ]);
    expect(view.backends[1].effectiveWeight).toBeCloseTo(10, 0);

    const ninetyTen = await v2Percent(2_000);
    expect(ninetyTen, `v2 got ${ninetyTen.toFixed(2)} % at 90/10`).toBeGreaterThanOrEqual(7);
    expect(ninetyTen, `v2 got ${ninetyTen.toFixed(2)} % at 90/10`).toBeLessThanOrEqual(13);

    const before = await suite.router.reloads();
    await suite.router.waitApplied(await putRoute([50, 50]));
    const fiftyFifty = await v2Percent(2_000);
    expect(fiftyFifty, `v2 got ${fiftyFifty.toFixed(2)} % at 50/50`).toBeGreaterThanOrEqual(47);
    expect(fiftyFifty, `v2 got ${fiftyFifty.toFixed(2)} % at 50/50`).toBeLessThanOrEqual(53);
    const after = await suite.router.reloads();
    expect(after.master, 'HAProxy master reload counter').toBe(before.master);
    expect(after.metric, 'fabric_router_reloads_total').toBe(before.metric);
    expect((await suite.router.target()).lastApply.action).toBe('runtime');
    // The file on disk has the new weights, so a later reload changes nothing.
    expect(suite.router.config()).toMatch(/backend route_shop-canary[\s\S]*weight 85[\s\S]*weight 256/);
  });

  it('sticky: a client with the cookie keeps hitting one version', async () => {
    await suite.router.waitApplied(await putRoute([50, 50], { sticky: true }));
    expect(suite.router.config()).toContain('cookie FABRIC_shop-canary insert indirect nocache');
    for (const version of ['v1', 'v2']) {
      // A first request without the cookie picks a server and sets the cookie.
      let first: { body: string; setCookie: string[] } | undefined;
      await waitFor(
        async () => {
          first = await get();
          return first.body === version;
        },
        { timeoutMs: 10_000, what: `a first answer from ${version}` },
      );
      const cookie = first!.setCookie.map((c) => c.split(';')[0]!).find((c) => c.startsWith('FABRIC_shop-canary='));
      expect(cookie, 'the route sets its cookie').toBeDefined();
      const seen = new Set<string>();
      for (let i = 0; i < 30; i++) seen.add((await get(cookie)).body);
      expect([...seen]).toEqual([version]);
    }
  });

  it('a route whose backends have no endpoints answers 503, the config stays valid', async () => {
    const rev = await putRaw(
      suite.client,
      'routes/empty',
      JSON.stringify({ name: 'empty', host: 'empty.example.com', backends: [{ service: 'nobody', weight: 1 }] }),
    );
    await suite.router.waitApplied(rev);
    const res = await suite.router.request('empty.example.com');
    expect(res.status).toBe(503);
    expect((await suite.router.reloads()).failed).toBe(0);
  });
});
