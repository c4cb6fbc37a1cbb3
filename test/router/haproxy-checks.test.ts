// Health checks run by HAProxy (docs/health-checks.md), end to end: a real router with a HAProxy
// and an nginx target, endpoints in a real etcd, real HTTP servers on 127.0.0.1 whose health path
// the test flips. HAProxy checks; the router reads the verdicts back from the admin socket and
// feeds them to the API, to nginx and to the Route backends, with no HAProxy reload.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { haproxyCommand } from '../../lb/haproxy/socket.js';
import { parseShowStat } from '../../lb/health/haproxy-stat.js';
import { type NginxRouter, startNginxRouter } from './nginx-support.js';
import {
  type EndpointJson,
  endpoint,
  type FlipServer,
  haproxyShowProc,
  PREFIX,
  registerEndpoints,
  startFlipServers,
  useRouterSuite,
  waitFor,
} from './support.js';

const INTERVAL_MS = 200;
const RISE = 2;
const FALL = 2;
/** The 1 s read cadence, debounce, an nginx reload, on a busy 2-core box. */
const SLACK_MS = 4_000;

const suite = useRouterSuite({
  router: false,
  afterEach: async () => void (await suite.client.delete().prefix(`${PREFIX}/`).exec()),
});

async function flipServers(names: string[]): Promise<FlipServer[]> {
  return startFlipServers(suite.perTest, names);
}

async function register(endpoints: Array<EndpointJson & Record<string, unknown>>): Promise<number> {
  return registerEndpoints(suite.perTest, suite.client, endpoints);
}

async function apiEndpoint(router: NginxRouter, service: string, port: number): Promise<any> {
  const res = await router.get(`/v1/services/${service}`);
  return res.status === 200 ? (res.json.endpoints as any[]).find((e) => e.port === port) : undefined;
}

function haproxyDir(router: NginxRouter): string {
  return path.join(path.dirname(router.dir), 'haproxy');
}

/** HAProxy's own word on each server of `backend`: `address:port` → status (UP, DOWN, …), filled slots only. */
async function haproxyStatus(router: NginxRouter, backend: string): Promise<Record<string, string>> {
  const text = await haproxyCommand(path.join(haproxyDir(router), 'run/admin.sock'), `show stat ${backend} 4 -1`, 2_000);
  const state = await haproxyCommand(path.join(haproxyDir(router), 'run/admin.sock'), `show servers state ${backend}`, 2_000);
  const addresses = new Map(
    state
      .split('\n')
      .filter((l) => /^\d+ /.test(l))
      .map((l) => l.split(' '))
      .map((f) => [f[3]!, `${f[4]}:${f[18]}`]),
  );
  return Object.fromEntries(
    (parseShowStat(text) ?? []).filter((r) => !r.status.startsWith('MAINT')).map((r) => [addresses.get(r.server) ?? r.server, r.status]),
  );
}

/** Bodies of `n` requests through HAProxy, as a sorted set. */
async function haproxyBodies(router: NginxRouter, host: string, n: number): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = await router.requestHaproxy(host);
    seen.add(r.status === 200 ? r.body : `HTTP ${r.status}`);
  }
  return [...seen].sort();
}

async function haproxyReloads(router: NginxRouter): Promise<{ master: number; counter: number }> {
  const info = await haproxyShowProc(haproxyDir(router));
  return { master: info.reloads, counter: (await router.target('haproxy')).counters.reloads };
}

describe('health checks run by HAProxy', () => {
  it('an endpoint failing its HTTP check leaves rotation with no reload, shows unhealthy, leaves nginx, and comes back after rise', async () => {
    const router = await startNginxRouter(suite.perTest, suite.etcd, {
      haproxy: true,
      lbOnExit: 'stop',
      config: { healthCheck: { interval: `${INTERVAL_MS}ms`, timeout: '1s', rise: RISE, fall: FALL } },
    });
    const [a, b] = await flipServers(['hc-a', 'hc-b']);
    const check = { path: '/healthz', intervalMs: INTERVAL_MS }; // as the agent writes fabric.health.* labels
    const revision = await register([
      { ...endpoint({ service: 'flip', port: a!.port }), check },
      { ...endpoint({ service: 'flip', port: b!.port }), check },
    ]);
    await router.waitApplied(revision);
    const aAt = `127.0.0.1:${a!.port}`;
    const bAt = `127.0.0.1:${b!.port}`;

    // HAProxy runs the check, the router does not.
    const config = (await import('node:fs')).readFileSync(path.join(haproxyDir(router), 'haproxy.cfg'), 'utf8');
    const backend = /backend svc_flip\n([\s\S]*?)\n\n|backend svc_flip\n([\s\S]*)$/.exec(config)![0];
    expect(backend).toContain('option httpchk');
    expect(backend).toContain('http-check send meth GET uri /healthz');
    expect(backend).toMatch(new RegExp(`default-server check inter ${INTERVAL_MS} .*rise ${RISE} fall ${FALL} observe layer4`));
    expect((await router.status()).healthChecks).toMatchObject({ runBy: 'haproxy', endpoints: 2 });
    await waitFor(async () => (await apiEndpoint(router, 'flip', a!.port))?.healthCheck?.state === 'healthy', { what: 'a healthy in the API' });
    await waitFor(async () => (await apiEndpoint(router, 'flip', b!.port))?.healthCheck?.state === 'healthy', { what: 'b healthy in the API' });
    expect(await router.upstream('flip')).toEqual([`${aAt} weight=100`, `${bAt} weight=100`].sort());
    const before = await haproxyReloads(router);

    a!.healthy = false;
    const down = await waitFor(
      async () => {
        const e = await apiEndpoint(router, 'flip', a!.port);
        // The check's view changes at the read; `serving` with the next model (after the debounce).
        return e?.healthCheck?.state === 'unhealthy' && e.serving === 'maint' ? e : undefined;
      },
      { timeoutMs: INTERVAL_MS * FALL + SLACK_MS, what: 'a unhealthy and out of rotation in /v1/services/flip' },
    );
    expect(down).toMatchObject({ serving: 'maint', health: 'none', effectiveHealth: 'unhealthy' });
    expect(down.healthCheck).toMatchObject({ kind: 'http', source: 'labels', lastError: 'HTTP 503', rise: RISE, fall: FALL, target: `http://${aAt}/healthz` });
    expect((await haproxyStatus(router, 'svc_flip'))[aAt]).toMatch(/^DOWN/);
    expect(await haproxyBodies(router, 'flip.apps.test', 8)).toEqual(['hc-b']);
    await waitFor(async () => (await router.upstream('flip')).join(',') === `${bAt} weight=100`, { timeoutMs: SLACK_MS, what: 'nginx lists only b' });
    expect((await router.get('/v1/services/flip/health')).json).toMatchObject({ healthy: 1, total: 2 });

    // Stays out: the router's runtime commands never force it back up while HAProxy says down.
    const hits = a!.healthHits;
    await waitFor(() => a!.healthHits >= hits + 3, { what: 'HAProxy keeps checking the down endpoint' });
    expect((await haproxyStatus(router, 'svc_flip'))[aAt]).toMatch(/^DOWN/);
    expect(await haproxyBodies(router, 'flip.apps.test', 6)).toEqual(['hc-b']);

    a!.healthy = true;
    const started = Date.now();
    await waitFor(async () => (await apiEndpoint(router, 'flip', a!.port))?.healthCheck?.state === 'healthy', {
      timeoutMs: INTERVAL_MS * RISE + SLACK_MS,
      what: 'a healthy again in the API',
    });
    expect(Date.now() - started).toBeLessThan(INTERVAL_MS * RISE + SLACK_MS);
    expect((await apiEndpoint(router, 'flip', a!.port)).healthCheck.lastError ?? null).toBeNull();
    await waitFor(async () => (await haproxyBodies(router, 'flip.apps.test', 8)).join(',') === 'hc-a,hc-b', { what: 'HAProxy serves a again' });
    await waitFor(async () => (await router.upstream('flip')).length === 2, { timeoutMs: SLACK_MS, what: 'nginx lists a again' });

    // Out and back with no HAProxy reload.
    expect(await haproxyReloads(router)).toEqual(before);
  });
});
