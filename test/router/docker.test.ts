// Agent and router together, on the test dockerd: labelled containers → etcd → HAProxy.
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { removeAllContainers, runWeb, type WebContainer } from '../harness/index.js';
import { bodies, type RunningAgent, startAgent, testDocker, trafficDuring, useRouterSuite, waitFor } from './support.js';

const suite = useRouterSuite({
  afterEach: async () => {
    await removeAllContainers(testDocker().docker);
    // Every container is gone: the agent deletes its endpoints and the router empties the backends.
    await waitFor(async () => ((await suite.router.get('/v1/services')).json.services as any[]).every((s) => s.endpoints.length === 0), {
      timeoutMs: 15_000,
      what: 'no endpoints left after the test',
    });
  },
});
let agent: RunningAgent;

beforeAll(async () => {
  agent = await startAgent(suite.file, suite.etcd);
});

async function web(service: string, body: string, labels: Record<string, string> = {}): Promise<WebContainer> {
  const c = await runWeb(testDocker().docker, { labels: { 'fabric.service': service, ...labels }, body });
  suite.perTest.defer(() => c.remove());
  return c;
}

/** Until `host` answers with every body in `expected` (and nothing else) within `n` requests. */
async function waitServed(host: string, expected: string[], timeoutMs = 15_000): Promise<void> {
  await waitFor(
    async () => {
      const seen = new Set(await bodies(suite.router, host, expected.length * 3));
      return [...seen].sort().join(',') === [...expected].sort().join(',');
    },
    { timeoutMs, what: `${host} served by exactly ${expected.join(', ')}` },
  );
}

describe('agent + router + HAProxy', () => {
  it('serves a container labelled fabric.service=web at web.apps.test', async () => {
    const c = await web('web', 'hello from web-1');
    await waitFor(async () => (await suite.router.request('web.apps.test')).body === 'hello from web-1', {
      timeoutMs: 15_000,
      what: 'web.apps.test served through HAProxy',
    });
    const res = await suite.router.request('web.apps.test');
    expect(res.status).toBe(200);
    expect(res.body).toBe('hello from web-1');
    // Unknown hosts get the frontend's 404, not some backend.
    expect((await suite.router.request('nope.apps.test')).status).toBe(404);
    // The router's API sees the endpoint the agent registered.
    const service = (await suite.router.get('/v1/services/web')).json;
    expect(service.domains).toEqual(['web.apps.test']);
    expect(service.endpoints).toHaveLength(1);
    expect(service.endpoints[0]).toMatchObject({ container: c.id, address: '127.0.0.1', port: c.hostPort, serving: 'ready' });
    expect((await suite.router.get('/v1/services/web/health')).status).toBe(200);
    // Gone again: the health probe turns 503.
    await c.remove();
    await waitFor(async () => (await suite.router.get('/v1/services/web/health')).status === 503, {
      timeoutMs: 15_000,
      what: '/v1/services/web/health 503 after the container is removed',
    });
    // Its last endpoint gone, the service is gone: its host answers the frontend's 404 (at once, by the maps; no reload).
    await waitFor(async () => (await suite.router.request('web.apps.test')).status === 404, { what: 'web.apps.test 404 once its service is gone' });
  });

  it('serves three replicas round-robin', async () => {
    await Promise.all(['r1', 'r2', 'r3'].map((b) => web('trio', b)));
    await waitServed('trio.apps.test', ['r1', 'r2', 'r3']);
    const seen = await bodies(suite.router, 'trio.apps.test', 30);
    const counts = Object.fromEntries(['r1', 'r2', 'r3'].map((b) => [b, seen.filter((s) => s === b).length]));
    // Equal weights, sequential requests: HAProxy's roundrobin takes turns.
    expect(counts).toEqual({ r1: 10, r2: 10, r3: 10 });
  });

  it('loses no request while a replica is stopped with docker stop -t 2', async () => {
    const replicas = await Promise.all(['s1', 's2', 's3'].map((b) => web('stopme', b)));
    await waitServed('stopme.apps.test', ['s1', 's2', 's3']);
    const before = await suite.router.reloads();

    const victim = replicas[1]!;
    // Requests on fresh and on kept-alive connections to HAProxy, through the stop and one second after.
    const traffic = await trafficDuring(
      (opts) => suite.router.request('stopme.apps.test', '/', opts),
      1_500,
      async () => {
        const started = Date.now();
        const stopping = victim.stop(2);
        // Busybox ignores SIGTERM, so for two seconds the container lives on while HAProxy drains it:
        // the agent marked it at the kill(15) event, the router told HAProxy at run time.
        const drained = await waitFor(
          async () => {
            const ep = ((await suite.router.get('/v1/services/stopme')).json.endpoints as any[]).find((e) => e.container === victim.id);
            const served = await suite.router.servedSet('svc_stopme');
            return ep?.serving === 'drain' && !served.some((s) => s.startsWith(`127.0.0.1:${victim.hostPort} `)) ? Date.now() : undefined;
          },
          { timeoutMs: 10_000, intervalMs: 10, what: 'the stopping replica drained in HAProxy' },
        );
        await stopping;
        return { started, drained };
      },
    );
    const { started, drained } = traffic.result;
    expect(drained - started, 'drained long before docker sent SIGKILL').toBeLessThan(1_500);

    expect(traffic.failures, `${traffic.failures.length} of ${traffic.total} requests failed`).toEqual([]);
    expect(traffic.total).toBeGreaterThan(100);
    expect(traffic.lastAnswer, 'the loop ran through the whole stop').toBeGreaterThan(traffic.doneAt + 900);
    expect(traffic.doneAt - started).toBeGreaterThanOrEqual(1_500); // busybox ignored SIGTERM: docker waited for its -t
    expect([...traffic.seenAfter].sort()).toEqual(['s1', 's3']);
    // Drain and removal went through the Runtime API.
    const after = await suite.router.reloads();
    expect(after.master).toBe(before.master);
    expect(after.metric).toBe(before.metric);
  });

  it('rejects a container whose label would inject a config line, and goes on serving the rest', async () => {
    await web('fine', 'fine-1');
    const evil = await web('injected', 'evil', { 'fabric.domains': 'a.com\n  server evil 1.2.3.4:80' });
    await waitServed('fine.apps.test', ['fine-1']);
    const rejected = await waitFor(async () => ((await agent.get('/v1/endpoints')).json.rejected as any[]).find((r) => r.container === evil.id), {
      timeoutMs: 10_000,
      what: 'the agent to reject the injected container',
    });
    expect(rejected.reason).toMatch(/fabric\.domains/);
    expect(((await agent.status()).rejected as any[]).map((r) => r.container)).toContain(evil.id);
    // Never registered, so the router never heard of it.
    const services = ((await suite.router.get('/v1/services')).json.services as any[]).map((s) => s.name);
    expect(services).toContain('fine');
    expect(services).not.toContain('injected');
    const config = suite.router.config();
    expect(config).not.toMatch(/evil/);
    expect(config).not.toMatch(/1\.2\.3\.4/);
    expect(fs.readFileSync(`${suite.router.dir}/hosts.map`, 'utf8')).not.toMatch(/a\.com|evil/);
    expect((await suite.router.request('a.com')).status).toBe(404);
    expect((await suite.router.request('fine.apps.test')).body).toBe('fine-1');
  });
});
