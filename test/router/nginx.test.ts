// The `kind: nginx` target end to end: the real `fabric router` starting and supervising a real
// nginx 1.22 (and HAProxy where both run), endpoints from a real agent on the test dockerd or
// written straight into a real etcd, and plain HTTP through nginx.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isNginx } from '../../lb/nginx/procfs.js';
import { freePorts, ROOT, runWeb, type WebContainer } from '../harness/index.js';
import { type NginxRouter, type NginxRouterOptions, startNginxRouter as startRouterWithNginx, waitBodies } from './nginx-support.js';
import {
  deleteEndpoint,
  type EndpointJson,
  endpoint,
  PREFIX,
  putEndpoint,
  putRaw,
  type Resources,
  startAgent,
  startWebServers,
  testDocker,
  trafficDuring,
  useRouterSuite,
  type WebServer,
  waitFor,
} from './support.js';

const DEFAULT_NGINX_TEMPLATE = path.join(ROOT, 'templates/nginx.conf.hbs');

const suite = useRouterSuite({
  router: false,
  // The next test's router starts from an empty keyspace.
  afterEach: async () => void (await suite.client.delete().prefix(`${PREFIX}/`).exec()),
});

function startNginxRouter(res: Resources, opts: NginxRouterOptions = {}): Promise<NginxRouter> {
  return startRouterWithNginx(res, suite.etcd, opts);
}

// ---------------------------------------------------------------- tests

describe('kind: nginx', () => {
  it('routes by subdomain to containers and loses no request while a replica is stopped', async () => {
    const router = await startNginxRouter(suite.perTest);
    await startAgent(suite.perTest, suite.etcd);
    const web = async (body: string): Promise<WebContainer> => {
      const c = await runWeb(testDocker().docker, { labels: { 'fabric.service': 'ngweb' }, body });
      suite.perTest.defer(() => c.remove());
      return c;
    };
    const replicas = await Promise.all(['n1', 'n2', 'n3'].map(web));
    await waitBodies(router, 'ngweb.apps.test', ['n1', 'n2', 'n3']);
    expect((await router.request('nope.apps.test')).status).toBe(404);
    expect(await router.upstream('ngweb')).toEqual(replicas.map((c) => `127.0.0.1:${c.hostPort} weight=100`).sort());

    const victim = replicas[1]!;
    // Requests on fresh and on kept-alive connections to nginx, through the stop and one second after.
    const traffic = await trafficDuring(
      (opts) => router.request('ngweb.apps.test', '/', opts),
      2_000,
      async () => {
        const started = Date.now();
        const stopping = victim.stop(2);
        // Busybox ignores SIGTERM: for two seconds the container lives on while the agent drains it
        // (at the kill(15) event) and the router reloads nginx without it.
        const drained = await waitFor(
          async () => {
            const ep = ((await router.get('/v1/services/ngweb')).json.endpoints as any[]).find((e) => e.container === victim.id);
            const gone = !(await router.upstream('ngweb')).some((u) => u.startsWith(`127.0.0.1:${victim.hostPort} `));
            return ep?.serving === 'drain' && gone && (await router.servesConfigOnDisk()) ? Date.now() : undefined;
          },
          { timeoutMs: 10_000, intervalMs: 10, what: 'nginx let go of the stopping replica' },
        );
        await stopping;
        return drained - started;
      },
    );
    expect(traffic.result, 'nginx let go of the replica before docker sent SIGKILL').toBeLessThan(2_000);
    expect(traffic.failures, `${traffic.failures.length} of ${traffic.total} requests failed`).toEqual([]);
    expect(traffic.total).toBeGreaterThan(100);
    expect([...traffic.seenAfter].sort()).toEqual(['n1', 'n3']);
    expect((await router.target()).lastApply.action).toBe(router.dynamic ? 'runtime' : 'reload');
  });

  it('keeps serving the old config when nginx -t refuses a new one, and says why', async () => {
    // The default template, plus a directive nginx does not know whenever a service "breakme" exists.
    const template = path.join(suite.perTest.tempDir('fabric-nginx-tpl-'), 'nginx.conf.hbs');
    fs.writeFileSync(
      template,
      fs
        .readFileSync(DEFAULT_NGINX_TEMPLATE, 'utf8')
        .replace('\nhttp {\n', '\nhttp {\n{{#each services}}{{#if (eq name "breakme")}}  fabric_no_such_directive on;\n{{/if}}{{/each}}\n'),
    );
    const router = await startNginxRouter(suite.perTest, { template });
    const [w1, w2, bad] = await startWebServers(suite.perTest, ['w1', 'w2', 'bad']);
    const a = endpoint({ service: 'web', port: w1!.port });
    await router.waitApplied(await putEndpoint(suite.client, a));
    await waitBodies(router, 'web.apps.test', ['w1']);
    const before = { target: await router.target(), reconfigurations: router.reconfigurations(), config: router.config() };

    const broken = endpoint({ service: 'breakme', port: bad!.port });
    const brokenRev = await putEndpoint(suite.client, broken);
    const failed = await waitFor(
      async () => {
        const t = await router.target();
        return t.lastError && t.lastError.revision >= brokenRev ? t : undefined;
      },
      { what: 'the validation failure in /v1/status' },
    );
    expect(failed.lastError.code).toBe('FABRIC_ERR_VALIDATE');
    expect(failed.lastError.message).toMatch(/unknown directive "fabric_no_such_directive"/);
    expect(failed.state).toBe('failed');
    expect(await router.metric('fabric_router_validation_failures_total', { target: 'nginx' })).toBeGreaterThanOrEqual(1);
    expect(await router.metric('fabric_router_apply_failures_total', { target: 'nginx', code: 'FABRIC_ERR_VALIDATE' })).toBeGreaterThanOrEqual(1);
    const ready = await router.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.text).toMatch(/FABRIC_ERR_VALIDATE/);

    // A change made while the config is refused is not half-applied either: the old config serves on.
    const b = endpoint({ service: 'web', port: w2!.port });
    const laterRev = await putEndpoint(suite.client, b);
    await waitFor(async () => (await router.target()).lastError?.revision >= laterRev, { what: 'the next apply refused too' });
    for (let i = 0; i < 10; i++) {
      const res = await router.request('web.apps.test');
      expect(res.status).toBe(200);
      expect(res.body).toBe('w1');
    }
    expect((await router.request('breakme.apps.test')).status).toBe(404);
    expect(router.config()).toBe(before.config);
    expect(router.reconfigurations()).toBe(before.reconfigurations);
    expect((await router.target()).counters.reloads).toBe(before.target.counters.reloads);
    expect(
      fs.readdirSync(router.dir).filter((f) => f.endsWith('.stage')),
      'no staged file left behind',
    ).toEqual([]);

    // The offending service goes: the next render validates and everything since is served.
    await router.waitApplied(await deleteEndpoint(suite.client, broken));
    await waitBodies(router, 'web.apps.test', ['w1', 'w2']);
    expect((await router.target()).lastError).toBeUndefined();
    // Dynamic: the config is the one before "breakme" again, its new peer pushed at run time.
    expect(router.reconfigurations()).toBe(before.reconfigurations + (router.dynamic ? 0 : 1));
  });

  it('folds 50 endpoint changes in a burst into a few reloads and ends on exactly the final state', async () => {
    const router = await startNginxRouter(suite.perTest, { minReloadInterval: '1s' });
    const servers = await startWebServers(suite.perTest, ['b0', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7']);
    const bodyOf = new Map<number, string>(servers.map((s: WebServer) => [s.port, s.body]));
    const eps = servers.map((s) => endpoint({ service: 'burst', port: s.port }));
    await router.waitApplied(await putEndpoint(suite.client, eps[0]!));
    await waitBodies(router, 'burst.apps.test', ['b0']);
    const before = {
      reloads: (await router.target()).counters.reloads,
      metric: await router.metric('fabric_router_reloads_total', { target: 'nginx' }),
      reconfigurations: router.reconfigurations(),
    };

    // Weights change, endpoints come and go, some drain: 50 puts and deletes, back to back.
    const live = new Map<string, EndpointJson>([[eps[0]!.container, { ...eps[0]! }]]);
    let lastRevision = 0;
    const started = Date.now();
    for (let i = 0; i < 50; i++) {
      const e = eps[(i * 3) % eps.length]!;
      if (i % 7 === 6 && live.has(e.container)) {
        live.delete(e.container);
        lastRevision = await deleteEndpoint(suite.client, e);
        continue;
      }
      e.weight = 10 + i;
      e.state = i % 5 === 4 ? 'draining' : 'up';
      live.set(e.container, { ...e });
      lastRevision = await putEndpoint(suite.client, { ...e });
    }
    const burstMs = Date.now() - started;
    await router.waitApplied(lastRevision);

    const final = [...live.values()];
    const ready = final.filter((e) => e.state === 'up');
    expect(ready.length).toBeGreaterThan(1);
    expect(final.length).toBeGreaterThan(ready.length);
    // The config nginx runs lists exactly the ready endpoints, with their final weights ...
    expect(await router.upstream('burst')).toEqual(ready.map((e) => `127.0.0.1:${e.port} weight=${e.weight}`).sort());
    // ... and requests reach exactly those.
    await waitBodies(
      router,
      'burst.apps.test',
      ready.map((e) => bodyOf.get(e.port)!),
    );

    const after = {
      reloads: (await router.target()).counters.reloads,
      metric: await router.metric('fabric_router_reloads_total', { target: 'nginx' }),
      reconfigurations: router.reconfigurations(),
    };
    const reloads = after.reloads - before.reloads;
    if (router.dynamic) {
      // Run-time upstreams: the whole burst reached nginx with no reload at all.
      expect(reloads).toBe(0);
      expect(after.reconfigurations).toBe(before.reconfigurations);
      return;
    }
    // At most one reload per second of burst, plus the first one and the last one.
    expect(reloads, `reloads for a burst of ${burstMs} ms`).toBeGreaterThanOrEqual(1);
    expect(reloads).toBeLessThanOrEqual(Math.ceil(burstMs / 1_000) + 2);
    expect(reloads).toBeLessThanOrEqual(4);
    // The router's counters and nginx's own log agree: every reload counted was one nginx did.
    expect(after.metric - before.metric).toBe(reloads);
    expect(after.reconfigurations - before.reconfigurations).toBe(reloads);
    // Old worker generations finish and leave: only the current workers remain.
    await waitFor(() => router.workers().every((w) => !/shutting down/.test(w.title)), {
      what: 'no old nginx worker left after the burst',
    });
  });

  it('runs an HAProxy and an nginx target side by side, serving the same service', async () => {
    const router = await startNginxRouter(suite.perTest, { haproxy: true, lbOnExit: 'stop' });
    const [s1, s2] = await startWebServers(suite.perTest, ['both-1', 'both-2']);
    const first = endpoint({ service: 'both', port: s1!.port });
    await router.waitApplied(await putEndpoint(suite.client, first));
    for (const via of ['nginx', 'haproxy'] as const) {
      const get = (host: string) => (via === 'nginx' ? router.request(host) : router.requestHaproxy(host));
      const res = await get('both.apps.test');
      expect(res.status, via).toBe(200);
      expect(res.body, via).toBe('both-1');
      expect((await get('unknown.apps.test')).status, via).toBe(404);
    }
    const second = endpoint({ service: 'both', port: s2!.port });
    await router.waitApplied(await putEndpoint(suite.client, second));
    for (const via of ['nginx', 'haproxy'] as const) {
      await waitFor(
        async () => {
          const seen = new Set<string>();
          for (let i = 0; i < 8; i++) seen.add((await (via === 'nginx' ? router.request('both.apps.test') : router.requestHaproxy('both.apps.test'))).body);
          return [...seen].sort().join(',') === 'both-1,both-2';
        },
        { what: `both replicas served through ${via}` },
      );
    }
    const targets = (await router.status()).targets as any[];
    expect(targets.map((t) => [t.name, t.kind, t.state])).toEqual([
      ['nginx', 'nginx', 'applied'],
      ['haproxy', 'haproxy', 'applied'],
    ]);
    // The endpoint added later reached HAProxy at run time, and nginx too when dynamic (else by a reload).
    expect(targets[0].lastApply.action).toBe(router.dynamic ? 'runtime' : 'reload');
    expect(targets[1].lastApply.action).toBe('runtime');

    // Stopping the router stops nginx and its workers too.
    const master = router.masterPid();
    const workers = router.workers().map((w) => w.pid);
    expect(await router.stop()).toEqual([]);
    for (const pid of [master, ...workers]) expect(isNginx(pid), `nginx pid ${pid} after the router stopped`).toBe(false);
  });

  it('starts nginx again when it is killed, with no worker of the dead master left behind', async () => {
    const router = await startNginxRouter(suite.perTest);
    const [s1] = await startWebServers(suite.perTest, ['phoenix']);
    await router.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'phoenix', port: s1!.port })));
    expect((await router.request('phoenix.apps.test')).body).toBe('phoenix');
    const master = router.masterPid();
    const workers = router.workers().map((w) => w.pid);
    expect(workers.length).toBeGreaterThan(0);

    process.kill(master, 'SIGKILL');
    const restarted = await waitFor(
      async () => {
        const pid = router.masterPid();
        return pid !== master && isNginx(pid) && (await router.request('phoenix.apps.test')).body === 'phoenix' ? pid : undefined;
      },
      { timeoutMs: 15_000, what: 'nginx restarted by the router and serving again' },
    );
    expect(restarted).not.toBe(master);
    // The orphaned workers of the killed master were told to go (they would hold the port).
    await waitFor(() => workers.every((pid) => !isNginx(pid)), { what: "the killed master's workers gone" });
    await waitFor(async () => (await router.target()).lastApply?.action === 'start' && (await router.isReady()), {
      what: 'the restart reported in /v1/status and /readyz 200',
    });
  });

  it('serves the last good config when restarted while etcd is unreachable', async () => {
    // `stop`: nothing is left to adopt, the second router starts nginx from the file on disk.
    const first = await startNginxRouter(suite.perTest, { lbOnExit: 'stop' });
    const [s1] = await startWebServers(suite.perTest, ['kept']);
    await first.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'kept', port: s1!.port })));
    expect((await first.request('kept.apps.test')).body).toBe('kept');
    expect(await first.stop(), 'nginx pids left by a router stopping with --lb-on-exit stop').toEqual([]);
    await waitFor(async () => (await first.request('kept.apps.test').catch(() => undefined)) === undefined, { what: 'nginx gone with its router' });

    // Nothing listens on this port: the new router never sees etcd, only the config on disk.
    const [deadPort] = await freePorts(1);
    const second = await startNginxRouter(suite.perTest, { from: first, etcdUrl: `http://127.0.0.1:${deadPort}`, waitReady: false });
    await waitFor(async () => (await second.request('kept.apps.test').catch(() => undefined))?.body === 'kept', {
      what: 'the last good config served with etcd down',
    });
    expect((await second.get('/readyz')).status).toBe(503);
    second.workers(); // remember its pids for the cleanup
  });

  it('splits a weighted Route 90/10 per version group over 2,000 requests, and says what nginx cannot do', async () => {
    const router = await startNginxRouter(suite.perTest);
    const host = 'shop.example.com';
    // Three v1 replicas and one v2: bodies name the version.
    const servers = await startWebServers(suite.perTest, ['v1', 'v1', 'v1', 'v2']);
    await putRaw(suite.client, 'services/shop', JSON.stringify({ kind: 'Service', name: 'shop', domains: [host] }));
    for (const [i, s] of servers.entries()) {
      await putEndpoint(suite.client, endpoint({ service: 'shop', port: s.port, version: s.body, name: `shop-${i}` }));
    }
    const route = (extra: Record<string, unknown> = {}) =>
      putRaw(
        suite.client,
        'routes/shop-canary',
        JSON.stringify({
          kind: 'Route',
          name: 'shop-canary',
          host,
          backends: [
            { service: 'shop', version: 'v1', weight: 90 },
            { service: 'shop', version: 'v2', weight: 10 },
          ],
          ...extra,
        }),
      );
    await router.waitApplied(await route());
    // The weights HAProxy's route backend gets (lb/routes/weights.ts): 256 per v1 replica, 85 for v2.
    const v2 = servers.find((s) => s.body === 'v2')!;
    expect(await router.upstream('shop', 'route_shop-canary')).toEqual(servers.map((s) => `127.0.0.1:${s.port} weight=${s === v2 ? 85 : 256}`).sort());
    expect(await router.servesConfigOnDisk()).toBe(true);

    const counts = new Map<string, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next++ < 2_000) {
          const r = await router.request(host);
          const key = r.status === 200 ? r.body : `HTTP ${r.status}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
      }),
    );
    expect([...counts.keys()].sort(), 'only v1 and v2 answer').toEqual(['v1', 'v2']);
    const percent = ((counts.get('v2') ?? 0) / 2_000) * 100;
    console.info(`[nginx route] v2 answered ${percent.toFixed(2)} % of 2,000 requests at 90/10`);
    expect(percent, `v2 got ${percent.toFixed(2)} % at 90/10`).toBeGreaterThanOrEqual(7);
    expect(percent, `v2 got ${percent.toFixed(2)} % at 90/10`).toBeLessThanOrEqual(13);
    expect((await router.target()).limitations).toBeUndefined();

    // Cookie stickiness is an nginx Plus feature: the route is served by weight alone, and the status says so.
    await router.waitApplied(await route({ sticky: true }));
    const target = await router.target();
    expect(target.limitations).toEqual([expect.stringMatching(/route shop-canary: sticky.*not supported by open-source nginx/)]);
    expect(router.config()).toMatch(/upstream route_shop-canary \{\n\s+# route shop-canary: sticky/);
    expect((await router.request(host)).status).toBe(200);
  });

  it('reloads only when the rendered config changes, not for an unrelated key', async () => {
    const router = await startNginxRouter(suite.perTest);
    const [s1, s2] = await startWebServers(suite.perTest, ['calm-1', 'calm-2']);
    await router.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'calm', port: s1!.port })));
    await waitBodies(router, 'calm.apps.test', ['calm-1']);
    const snapshot = async () => ({
      metric: await router.metric('fabric_router_reloads_total', { target: 'nginx' }),
      reconfigurations: router.reconfigurations(),
      workers: router
        .workers()
        .map((w) => w.pid)
        .sort(),
      config: router.config(),
    });
    await waitFor(() => router.workers().every((w) => !/shutting down/.test(w.title)), { what: 'no old nginx worker left' });
    const before = await snapshot();

    // A host record (as an agent writes it) changes the revision and nothing nginx serves.
    const unrelated = await putRaw(
      suite.client,
      'hosts/h9',
      JSON.stringify({ name: 'h9', address: '127.0.0.9', agentVersion: 'test', started: new Date().toISOString() }),
    );
    await router.waitApplied(unrelated);
    expect((await router.status()).appliedRevision).toBeGreaterThanOrEqual(unrelated);
    expect(await snapshot()).toEqual(before);
    expect(await router.servesConfigOnDisk()).toBe(true);

    // An endpoint change still reloads, once (static upstreams).
    await router.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'calm', port: s2!.port })));
    await waitBodies(router, 'calm.apps.test', ['calm-1', 'calm-2']);
    const after = await snapshot();
    if (router.dynamic) {
      // Run-time upstreams: the same config and workers, the new peer in the shared dict.
      expect(after).toEqual(before);
      return;
    }
    expect(after.metric).toBe(before.metric + 1);
    expect(after.reconfigurations).toBe(before.reconfigurations + 1);
    expect(after.workers).not.toEqual(before.workers);
  });
});
