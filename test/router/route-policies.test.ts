// Policies on Routes (docs/routing.md, "Policies on Routes") through a real HAProxy and a real
// nginx run by one router: each route's own policies apply to its traffic (redirect, stripPrefix,
// headers, basicAuth, deny, rateLimit, maintenance), not to another route or to the service
// reached by its own host; the service's policies do not apply through the route; a 90/10 canary
// with a policy still splits 90/10.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type NginxRouter, startNginxRouter } from './nginx-support.js';
import { type Client, requestTarget, startEchoBackend, TARGETS, type Target } from './policy-support.js';
import { endpoint, type HttpResult, putEndpoint, putRaw, useRouterSuite, waitFor } from './support.js';

const suite = useRouterSuite({ router: false });

// bcrypt of "open-sesame" (test/router/access-policies.test.ts).
const ALICE = 'alice:$2b$05$abcdefghijklmnopqrstuutXu9KzOt.1yBoZUeFWoT/914/JfszCO';

let router: NginxRouter;

const request = (target: Target, host: string, client?: Client): Promise<HttpResult> => requestTarget(router, target, host, client);

function putRoute(spec: Record<string, unknown>): Promise<number> {
  return putRaw(suite.client, `routes/${String(spec.name)}`, JSON.stringify({ kind: 'Route', ...spec }));
}

async function waitBoth(host: string, client: Client, expected: (r: HttpResult) => boolean, what: string): Promise<void> {
  for (const target of TARGETS) await waitFor(async () => expected(await request(target, host, client)), { timeoutMs: 15_000, what: `${target}: ${what}` });
}

beforeAll(async () => {
  router = await startNginxRouter(suite.file, suite.etcd, { haproxy: true, lbOnExit: 'stop' });
  // Run as root, nginx's workers (nogroup) must reach the htpasswd file: the test's temp directory is 0700.
  fs.chmodSync(path.dirname(router.dir), 0o711);
  const [stable, next] = [await startEchoBackend(suite.file, 'v1'), await startEchoBackend(suite.file, 'v2')];
  // A service with a policy of its own, reached by its own host and through the routes.
  await putRaw(suite.client, 'services/web', JSON.stringify({ kind: 'Service', name: 'web', domains: ['web.example.com'], addPrefix: '/svc' }));
  await putEndpoint(suite.client, endpoint({ service: 'web', port: stable, name: 'web-v1', version: 'v1' }));
  await putEndpoint(suite.client, endpoint({ service: 'web', port: next, name: 'web-v2', version: 'v2', weight: 100 }));
});

describe('traffic policies on Routes through HAProxy and nginx', { timeout: 120_000 }, () => {
  it("a route's stripPrefix, headers, basicAuth and deny apply to its traffic only; the service's own policy does not apply through it", async () => {
    await putRoute({ name: 'open', host: 'open.example.com', backends: [{ service: 'web', version: 'v1', weight: 1 }] });
    const rev = await putRoute({
      name: 'guarded',
      host: 'guarded.example.com',
      backends: [{ service: 'web', version: 'v1', weight: 1 }],
      stripPrefix: '/api',
      headers: { request: { 'X-Env': 'route' }, response: { 'X-Powered-By': null, 'X-Route': 'guarded' } },
      basicAuth: { realm: 'ops', users: [ALICE] },
      deny: ['127.0.0.2/32'],
    });
    await router.waitApplied(rev);
    const alice = { path: '/api/x?q=1', auth: 'alice:open-sesame' };
    await waitBoth('guarded.example.com', alice, (r) => r.status === 200, 'guarded serves alice');
    for (const target of TARGETS) {
      const ok = await request(target, 'guarded.example.com', alice);
      expect({ target, status: ok.status, body: ok.body, env: ok.headers['x-seen-env'], auth: ok.headers['x-seen-authorization'] }).toEqual({
        target,
        status: 200,
        body: 'v1 /x?q=1',
        env: 'route',
        auth: 'absent',
      });
      expect({ target, route: ok.headers['x-route'], powered: ok.headers['x-powered-by'] }).toEqual({ target, route: 'guarded', powered: undefined });
      expect({ target, status: (await request(target, 'guarded.example.com', { path: '/api/x' })).status }).toEqual({ target, status: 401 });
      const wrong = await request(target, 'guarded.example.com', { ...alice, auth: 'alice:wrong' });
      expect({ target, status: wrong.status }).toEqual({ target, status: 401 });
      const denied = await request(target, 'guarded.example.com', { ...alice, from: '127.0.0.2' });
      expect({ target, status: denied.status }).toEqual({ target, status: 403 });
      // Another route to the same service: none of it, and not the service's addPrefix either.
      const open = await request(target, 'open.example.com', { path: '/api/x', from: '127.0.0.2' });
      expect({ target, status: open.status, body: open.body, env: open.headers['x-seen-env'] }).toEqual({
        target,
        status: 200,
        body: 'v1 /api/x',
        env: 'absent',
      });
      // The service by its own host: its own policy, none of the route's.
      const own = await request(target, 'web.example.com', { path: '/api/x', from: '127.0.0.2' });
      expect({ target, status: own.status, body: own.body.replace(/^v[12] /, '') }).toEqual({ target, status: 200, body: '/svc/api/x' });
    }
    const status = await router.target('haproxy');
    expect(status.limitations).toContain(
      "route guarded: its traffic to service web goes with the route's traffic policies, not the service's (a Route applies its own: docs/routing.md)",
    );
  });

  it('a route redirect, maintenance and rateLimit answer for that route only', async () => {
    await putRoute({ name: 'moved', host: 'moved.example.com', backends: [{ service: 'web', weight: 1 }], redirect: { scheme: 'https', code: 301 } });
    await putRoute({
      name: 'closed',
      host: 'closed.example.com',
      backends: [{ service: 'web', weight: 1 }],
      maintenance: { enabled: true, page: '<h1>back soon</h1>' },
    });
    const rev = await putRoute({
      name: 'limited',
      host: 'limited.example.com',
      backends: [{ service: 'web', weight: 1 }],
      rateLimit: { requests: 3, per: '6s' },
    });
    await router.waitApplied(rev);
    await waitBoth('limited.example.com', { from: '127.0.0.9' }, (r) => r.status === 200, 'limited serves');
    for (const target of TARGETS) {
      const moved = await request(target, 'moved.example.com', { path: '/a?b=1' });
      expect({ target, status: moved.status, location: moved.headers.location }).toEqual({ target, status: 301, location: 'https://moved.example.com/a?b=1' });
      const closed = await request(target, 'closed.example.com');
      expect({ target, status: closed.status, body: closed.body }).toEqual({ target, status: 503, body: '<h1>back soon</h1>' });
      // A client address of its own per target: each counts on its own (docs/routing.md).
      const from = target === 'haproxy' ? '127.0.0.5' : '127.0.0.6';
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1) statuses.push((await request(target, 'limited.example.com', { from })).status);
      expect({ target, statuses }).toEqual({ target, statuses: [200, 200, 200, 429, 429] });
      const others = [await request(target, 'open.example.com', { from }), await request(target, 'web.example.com', { from })];
      expect({ target, others: others.map((r) => r.status) }).toEqual({ target, others: [200, 200] });
    }
  });

  it('a 90/10 canary route with a policy still splits its traffic 90/10', async () => {
    const rev = await putRoute({
      name: 'canary',
      host: 'canary.example.com',
      backends: [
        { service: 'web', version: 'v1', weight: 90 },
        { service: 'web', version: 'v2', weight: 10 },
      ],
      headers: { response: { 'X-Route': 'canary' } },
    });
    await router.waitApplied(rev);
    await waitBoth('canary.example.com', {}, (r) => r.status === 200 && r.headers['x-route'] === 'canary', 'canary serves with its header');
    for (const target of TARGETS) {
      const counts = { v1: 0, v2: 0 };
      for (let i = 0; i < 100; i += 1) {
        const r = await request(target, 'canary.example.com');
        expect(r.headers['x-route']).toBe('canary');
        counts[r.body.split(' ')[0] as 'v1' | 'v2'] += 1;
      }
      // Both balancers spread weights smoothly: 10 in 100 give or take a few.
      expect({ target, v2: counts.v2 >= 5 && counts.v2 <= 15, counts }).toMatchObject({ target, v2: true });
    }
  });
});
