// Active health checks run by the router end to end: endpoints in a real etcd, the real router (HAProxy via its
// Runtime API), real HTTP servers on 127.0.0.1 whose health path the test flips, and one real
// container registered by the agent.
import { describe, expect, it } from 'vitest';
import { freePort, removeAllContainers, runWeb } from '../harness/index.js';
import {
  bodies,
  type EndpointJson,
  endpoint,
  type FlipServer,
  metricSum,
  PREFIX,
  putRaw,
  registerEndpoints,
  startAgent,
  startFlipServers,
  startRouter,
  testDocker,
  useRouterSuite,
  waitFor,
} from './support.js';

const INTERVAL_MS = 200;
const FALL = 2;
const RISE = 2;
/** Scheduling, debounce and the Runtime API on a busy 2-core box. */
const SLACK_MS = 1_500;
const ROUTER_ID = `health-test-${process.pid}`;

// The router's own checker (what nginx-only and SLB routers run), driving HAProxy through the Runtime API;
// HAProxy running the checks itself is test/router/haproxy-checks.test.ts.
const suite = useRouterSuite({
  router: {
    config: { routerId: ROUTER_ID, healthCheck: { interval: `${INTERVAL_MS}ms`, timeout: '150ms', rise: RISE, fall: FALL, runner: 'router' } },
  },
});

// ---------------------------------------------------------------- helpers

async function flipServers(names: string[]): Promise<FlipServer[]> {
  return startFlipServers(suite.perTest, names);
}

async function register(endpoints: Array<EndpointJson & Record<string, unknown>>): Promise<number> {
  return registerEndpoints(suite.perTest, suite.client, endpoints);
}

async function endpointsOf(service: string): Promise<any[]> {
  const res = await suite.router.get(`/v1/services/${service}`);
  return res.status === 200 ? res.json.endpoints : [];
}

async function endpointAt(service: string, port: number): Promise<any> {
  return (await endpointsOf(service)).find((e) => e.port === port);
}

async function served(service: string): Promise<string[]> {
  return (await suite.router.servedSet(`svc_${service}`)).map((s) => s.split(' ')[0]!);
}

/** Waits until exactly `ports` take traffic in HAProxy; returns the time it took. */
async function waitServedPorts(service: string, ports: number[], timeoutMs: number): Promise<number> {
  const started = Date.now();
  const want = ports
    .map((p) => `127.0.0.1:${p}`)
    .sort()
    .join(',');
  await waitFor(async () => (await served(service)).sort().join(',') === want, { timeoutMs, intervalMs: 20, what: `${service} served by ${want}` });
  return Date.now() - started;
}

async function statusDoc(id: string): Promise<any> {
  const text = await suite.client.get(`${PREFIX}/status/routers/${id}`).string();
  return text === null ? null : JSON.parse(text);
}

// ---------------------------------------------------------------- tests

describe('active health checks', () => {
  it('takes an endpoint whose health path fails out within interval × fall, back after rise, with no reload', async () => {
    const [a, b] = await flipServers(['flip-a', 'flip-b']);
    const check = { path: '/healthz', intervalMs: INTERVAL_MS }; // as the agent writes fabric.health.* labels
    const revision = await register([
      { ...endpoint({ service: 'flip', port: a!.port }), check },
      { ...endpoint({ service: 'flip', port: b!.port }), check },
    ]);
    await suite.router.waitApplied(revision);
    await waitServedPorts('flip', [a!.port, b!.port], 10_000);
    await waitFor(async () => (await endpointsOf('flip')).every((e) => e.healthCheck?.state === 'healthy'), { what: 'both checks healthy' });
    const before = await suite.router.reloads();

    a!.healthy = false;
    const outMs = await waitServedPorts('flip', [b!.port], INTERVAL_MS * FALL + SLACK_MS);
    expect(outMs).toBeLessThan(INTERVAL_MS * FALL + SLACK_MS);
    const down = await endpointAt('flip', a!.port);
    expect(down).toMatchObject({ serving: 'maint', health: 'none', effectiveHealth: 'unhealthy' });
    expect(down.healthCheck).toMatchObject({ kind: 'http', source: 'labels', state: 'unhealthy', lastError: 'HTTP 503', rise: RISE, fall: FALL });
    expect(down.healthCheck.failures).toBeGreaterThanOrEqual(FALL);
    expect(Date.parse(down.healthCheck.lastCheck)).toBeGreaterThan(Date.now() - 10_000);
    expect(new Set(await bodies(suite.router, 'flip.apps.test', 8))).toEqual(new Set(['flip-b']));

    a!.healthy = true;
    const backMs = await waitServedPorts('flip', [a!.port, b!.port], INTERVAL_MS * RISE + SLACK_MS);
    expect(backMs).toBeLessThan(INTERVAL_MS * RISE + SLACK_MS);
    const up = (await endpointAt('flip', a!.port)).healthCheck;
    expect(up.state).toBe('healthy');
    expect(up.lastError ?? null).toBeNull();
    expect(new Set(await bodies(suite.router, 'flip.apps.test', 8))).toEqual(new Set(['flip-a', 'flip-b']));

    // Out and back through the Runtime API: HAProxy never reloaded.
    const after = await suite.router.reloads();
    expect(after.master).toBe(before.master);
    expect(after.metric).toBe(before.metric);
    expect(after.failed).toBe(0);
    // And the metrics saw it.
    const metrics = await suite.router.metricsText();
    expect(metricSum(metrics, 'fabric_router_health_checks_total', { kind: 'http', result: 'failure' })).toBeGreaterThanOrEqual(FALL);
    expect(metricSum(metrics, 'fabric_router_health_checks_total', { kind: 'http', result: 'success' })).toBeGreaterThan(0);
    expect(metricSum(metrics, 'fabric_router_health_check_duration_seconds_count', { kind: 'http' })).toBeGreaterThan(0);
    expect(metricSum(metrics, 'fabric_router_endpoints', { health: 'healthy' })).toBeGreaterThanOrEqual(2);
  });

  it('answers 503 on /v1/services/<name>/health when every endpoint is down, 200 again after one recovers (spec check)', async () => {
    const [c, d] = await flipServers(['all-c', 'all-d']);
    // The Service spec's check wins over the router defaults; rise/fall 1 from the spec.
    await putRaw(
      suite.client,
      'services/allsvc',
      JSON.stringify({ name: 'allsvc', healthCheck: { path: '/healthz', interval: `${INTERVAL_MS}ms`, timeout: '150ms', rise: 1, fall: 1 } }),
    );
    suite.perTest.defer(async () => {
      await suite.client.delete().key(`${PREFIX}/services/allsvc`).exec();
    });
    const revision = await register([endpoint({ service: 'allsvc', port: c!.port }), endpoint({ service: 'allsvc', port: d!.port })]);
    await suite.router.waitApplied(revision);
    await waitFor(async () => (await endpointsOf('allsvc')).every((e) => e.healthCheck?.state === 'healthy'), { what: 'both spec checks healthy' });
    expect((await endpointsOf('allsvc')).map((e) => e.healthCheck)).toEqual([
      expect.objectContaining({ kind: 'http', source: 'spec', rise: 1, fall: 1, intervalMs: INTERVAL_MS }),
      expect.objectContaining({ kind: 'http', source: 'spec', rise: 1, fall: 1, intervalMs: INTERVAL_MS }),
    ]);
    expect((await suite.router.get('/v1/services/allsvc/health')).status).toBe(200);

    c!.healthy = false;
    d!.healthy = false;
    await waitFor(async () => (await suite.router.get('/v1/services/allsvc/health')).status === 503, {
      timeoutMs: INTERVAL_MS + SLACK_MS,
      what: '/v1/services/allsvc/health 503',
    });
    expect((await suite.router.get('/v1/services/allsvc/health')).json).toMatchObject({ healthy: 0, total: 2, status: 'down' });
    await waitFor(async () => (await suite.router.request('allsvc.apps.test')).status === 503, { what: 'HAProxy 503 with no healthy endpoint' });

    d!.healthy = true;
    await waitFor(async () => (await suite.router.get('/v1/services/allsvc/health')).status === 200, {
      timeoutMs: INTERVAL_MS + SLACK_MS,
      what: '/v1/services/allsvc/health 200 again',
    });
    expect((await suite.router.get('/v1/services/allsvc/health')).json).toMatchObject({ healthy: 1, total: 2, status: 'up' });
    await waitFor(async () => (await suite.router.request('allsvc.apps.test')).body === 'all-d', { what: 'all-d served again' });
  });

  it('TCP-checks an endpoint with no check configured, and marks a closed port down; Docker health still counts', async () => {
    const [live, booting] = await flipServers(['tcp-live', 'tcp-booting']);
    const closed = await freePort(); // nothing listens there
    const revision = await register([
      endpoint({ service: 'tcpsvc', port: live!.port }),
      endpoint({ service: 'tcpsvc', port: closed }),
      // Its port answers, but Docker's HEALTHCHECK has not passed yet: out regardless of the active check.
      endpoint({ service: 'tcpsvc', port: booting!.port, health: 'starting' }),
    ]);
    await suite.router.waitApplied(revision);
    const dead = await waitFor(
      async () => {
        const e = await endpointAt('tcpsvc', closed);
        return e?.healthCheck?.state === 'unhealthy' && e.serving === 'maint' ? e : undefined;
      },
      { timeoutMs: INTERVAL_MS + SLACK_MS, what: 'the closed port marked down' },
    );
    expect(dead.healthCheck).toMatchObject({ kind: 'tcp', source: 'default', target: `tcp://127.0.0.1:${closed}` });
    expect(dead.healthCheck.lastError).toMatch(/ECONNREFUSED/);
    await waitFor(async () => (await endpointAt('tcpsvc', live!.port))?.healthCheck?.state === 'healthy', { what: 'the live port healthy' });
    expect((await endpointAt('tcpsvc', live!.port)).serving).toBe('ready');
    await waitFor(async () => (await endpointAt('tcpsvc', booting!.port))?.healthCheck?.state === 'healthy', { what: 'the booting port TCP-healthy' });
    expect(await endpointAt('tcpsvc', booting!.port)).toMatchObject({ health: 'starting', effectiveHealth: 'starting', serving: 'maint' });
    await waitServedPorts('tcpsvc', [live!.port], 5_000);
    expect(new Set(await bodies(suite.router, 'tcpsvc.apps.test', 6))).toEqual(new Set(['tcp-live']));
  });

  it('publishes status/routers/<id> with the health view on its lease, and removes it on a clean stop', async () => {
    const [s] = await flipServers(['pub-s']);
    const closed = await freePort();
    const revision = await register([endpoint({ service: 'pubsvc', port: s!.port }), endpoint({ service: 'pubsvc', port: closed })]);
    await suite.router.waitApplied(revision);
    const doc = await waitFor(
      async () => {
        const d = await statusDoc(ROUTER_ID);
        const svc = d?.health?.services?.find((x: any) => x.name === 'pubsvc');
        return svc?.healthy === 1 && svc.endpoints.some((e: any) => e.port === closed && e.health === 'unhealthy') ? d : undefined;
      },
      { timeoutMs: INTERVAL_MS + SLACK_MS + 2_000, what: `status/routers/${ROUTER_ID} showing pubsvc` },
    );
    expect(doc).toMatchObject({ routerId: ROUTER_ID, state: 'running' });
    expect(doc.targets[0]).toMatchObject({ kind: 'haproxy', state: 'applied' });
    expect(doc.targets[0].lastApply).toMatchObject({ action: expect.stringMatching(/runtime|reload|start/) });
    const svc = doc.health.services.find((x: any) => x.name === 'pubsvc');
    expect(svc.endpoints.find((e: any) => e.port === closed)).toMatchObject({ serving: 'maint', check: { kind: 'tcp', state: 'unhealthy' } });
    expect(svc.endpoints.find((e: any) => e.port === s!.port)).toMatchObject({ serving: 'ready', check: { kind: 'tcp', state: 'healthy' } });
    // On a lease: etcd says which one, and it is alive.
    const lease = (await suite.client.getAll().prefix(`${PREFIX}/status/routers/${ROUTER_ID}`).exec()).kvs[0]!.lease;
    expect(String(lease)).not.toBe('0');

    // A second router publishes under its own id; a clean stop revokes its lease at once (TTL is 15 s).
    const secondId = `${ROUTER_ID}-second`;
    const second = await startRouter(suite.perTest, suite.etcd, { config: { routerId: secondId } });
    await waitFor(async () => (await statusDoc(secondId))?.health?.services?.some((x: any) => x.name === 'pubsvc'), {
      timeoutMs: 10_000,
      what: `status/routers/${secondId}`,
    });
    const stopped = Date.now();
    await second.stop();
    await waitFor(async () => (await statusDoc(secondId)) === null, { timeoutMs: 5_000, what: `status/routers/${secondId} gone` });
    expect(Date.now() - stopped).toBeLessThan(10_000);
    expect(await statusDoc(ROUTER_ID)).not.toBeNull();
  });
});

describe('a real container, registered by the agent', () => {
  it('follows fabric.health.path: out while the path 404s, in once it answers', async () => {
    await startAgent(suite.perTest, suite.etcd);
    suite.perTest.defer(() => removeAllContainers(testDocker().docker));
    const c = await runWeb(testDocker().docker, {
      labels: { 'fabric.service': 'boxed', 'fabric.health.path': '/health.txt', 'fabric.health.interval': `${INTERVAL_MS}ms` },
      body: 'boxed-1',
    });
    const down = await waitFor(
      async () => {
        const e = (await endpointsOf('boxed')).find((x) => x.container === c.id);
        if (e?.healthCheck?.state !== 'unhealthy' || e.serving !== 'maint') return undefined;
        // The API shows the verdict as soon as the model has it; HAProxy serves it once the apply is done.
        return (await suite.router.request('boxed.apps.test')).status === 503 ? e : undefined;
      },
      { timeoutMs: 15_000, what: 'the container registered, its check failing and out of rotation (HAProxy answers 503)' },
    );
    expect(down).toMatchObject({ check: { path: '/health.txt', intervalMs: INTERVAL_MS }, health: 'none', effectiveHealth: 'unhealthy' });
    expect(down.healthCheck).toMatchObject({ kind: 'http', source: 'labels', lastError: 'HTTP 404' });

    const exec = await c.container.exec({ Cmd: ['/bin/sh', '-c', 'echo ok > /www/health.txt'], AttachStdout: false, AttachStderr: false });
    await exec.start({ Detach: true });
    await waitFor(async () => (await suite.router.request('boxed.apps.test')).body === 'boxed-1', {
      timeoutMs: INTERVAL_MS * RISE + SLACK_MS + 2_000,
      what: 'boxed.apps.test served once /health.txt exists',
    });
    expect((await endpointsOf('boxed')).find((x) => x.container === c.id)).toMatchObject({ serving: 'ready', healthCheck: { state: 'healthy' } });
  });
});
