// The `kind: nginx` target end to end: the real `fabric router` starting and supervising a real
// nginx 1.22 (and HAProxy where both run), endpoints from a real agent on the test dockerd or
// written straight into a real etcd, and plain HTTP through nginx.
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { childPids, isNginx, servedVersion } from '../../lb/nginx/control.js';
import { assertBuilt, freePorts, type ManagedProcess, ROOT, runWeb, type WebContainer } from '../harness/index.js';
import {
  DOMAIN,
  deleteEndpoint,
  type EndpointJson,
  endpoint,
  type HttpResult,
  httpGet,
  launchRouter,
  PREFIX,
  putEndpoint,
  type Resources,
  RouterProcess,
  startAgent,
  startWebServers,
  testDocker,
  trafficDuring,
  useRouterSuite,
  type WebServer,
  waitFor,
  writeRouterConfig,
} from './support.js';

const DEFAULT_NGINX_TEMPLATE = path.join(ROOT, 'templates/nginx.conf.hbs');

// support.ts checks the build of lb/ and src/; the nginx driver's own directory is checked here.
assertBuilt(['lb/nginx']);

const suite = useRouterSuite({
  router: false,
  // The next test's router starts from an empty keyspace.
  afterEach: async () => void (await suite.client.delete().prefix(`${PREFIX}/`).exec()),
});

// ---------------------------------------------------------------- a router with an nginx target

interface NginxRouterOptions {
  template?: string;
  minReloadInterval?: string;
  /** Also run a managed HAProxy target in the same router. */
  haproxy?: boolean;
  /** Run on the config, directory and ports of an earlier (stopped) router. */
  from?: NginxRouter;
  /** Point the router at this etcd URL instead of the test's etcd (e.g. one that does not answer). */
  etcdUrl?: string;
  /** Wait for /readyz 200 (default) or only for /healthz. */
  waitReady?: boolean;
}

class NginxRouter extends RouterProcess {
  /** nginx pids seen (master and workers), checked after the router stops. */
  private readonly nginxPids = new Set<number>();
  protected override applyTimeoutMs = 15_000;

  constructor(
    proc: ManagedProcess,
    url: string,
    readonly nginxPort: number,
    /** The nginx target's directory: nginx.conf, run/, logs/, tmp/. */
    readonly dir: string,
    readonly haproxyPort: number | undefined,
    configFile: string,
  ) {
    super(proc, url, configFile);
  }

  async target(name = 'nginx'): Promise<any> {
    return ((await this.status()).targets as any[]).find((t) => t.name === name);
  }

  request(host: string, pathname = '/', opts: { timeoutMs?: number; agent?: http.Agent } = {}): Promise<HttpResult> {
    return httpGet(this.nginxPort, host, pathname, opts);
  }

  requestHaproxy(host: string, pathname = '/'): Promise<HttpResult> {
    if (!this.haproxyPort) throw new Error('no HAProxy target in this router');
    return httpGet(this.haproxyPort, host, pathname);
  }

  config(): string {
    return fs.readFileSync(path.join(this.dir, 'nginx.conf'), 'utf8');
  }

  /** `address:port weight=W` of every server in `upstream svc_<service>` of the config on disk, sorted. */
  upstream(service: string): string[] {
    const block = new RegExp(`upstream svc_${service} \\{([^}]*)\\}`).exec(this.config());
    if (!block) return [];
    return [...block[1]!.matchAll(/server (\S+) weight=(\d+)/g)].map((m) => `${m[1]} weight=${m[2]}`).sort();
  }

  /** Whether nginx's workers run the config on disk: its control server answers with the version written in it. */
  async servesConfigOnDisk(): Promise<boolean> {
    const written = /return 200 "([0-9a-f]+)\\n";/.exec(this.config())?.[1];
    return written !== undefined && (await servedVersion(path.join(this.dir, 'run/control.sock'))) === written;
  }

  /** nginx's own reload count: the master logs "reconfiguring" once per SIGHUP it acts on. */
  reconfigurations(): number {
    const log = fs.readFileSync(path.join(this.dir, 'logs/error.log'), 'utf8');
    return log.split('\n').filter((l) => /\[notice\] \d+#\d+: reconfiguring$/.test(l)).length;
  }

  masterPid(): number {
    const pid = Number(fs.readFileSync(path.join(this.dir, 'run/nginx.pid'), 'utf8').trim());
    this.nginxPids.add(pid);
    return pid;
  }

  /** The master's children, by their process titles ("nginx: worker process [is shutting down]"). */
  workers(): Array<{ pid: number; title: string }> {
    const master = this.masterPid();
    return childPids(master).map((pid) => {
      this.nginxPids.add(pid);
      let title = '';
      try {
        title = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      } catch {
        // exited meanwhile
      }
      return { pid, title };
    });
  }

  /** SIGTERM (the router stops nginx itself), then makes sure no nginx it ran survives. */
  async stop(): Promise<string[]> {
    try {
      this.workers();
    } catch {
      // nginx already gone
    }
    await this.proc.stop('SIGTERM', 15_000);
    const survivors = [...this.nginxPids].filter((pid) => isNginx(pid));
    for (const pid of survivors) process.kill(pid, 'SIGKILL');
    if (survivors.length) console.warn(`[nginx test] nginx outlived the router: killed ${survivors.join(' ')}`);
    return survivors.map(String);
  }
}

async function startNginxRouter(res: Resources, opts: NginxRouterOptions = {}): Promise<NginxRouter> {
  const [apiPort, freshNginxPort, freshHaproxyPort] = (await freePorts(3)) as [number, number, number];
  const nginxPort = opts.from?.nginxPort ?? freshNginxPort;
  const haproxyPort = opts.from ? opts.from.haproxyPort : opts.haproxy ? freshHaproxyPort : undefined;
  const dir = opts.from?.dir ?? path.join(res.tempDir('fabric-nginx-'), 'nginx');
  const configFile = opts.from?.configFile ?? writeNginxRouterConfig(dir, nginxPort, haproxyPort, opts);
  const router = await launchRouter(res, configFile, (proc, url) => new NginxRouter(proc, url, nginxPort, dir, haproxyPort, configFile), {
    etcdUrl: opts.etcdUrl ?? suite.etcd.endpoint,
    name: 'nginx-router',
    apiPort,
  });
  await router.waitStarted(opts.waitReady !== false);
  if (opts.waitReady !== false) router.workers(); // remember nginx's pids
  return router;
}

/** router.yaml next to `dir`: the nginx target in `dir` (and a HAProxy target, given its port). */
function writeNginxRouterConfig(dir: string, nginxPort: number, haproxyPort: number | undefined, opts: NginxRouterOptions): string {
  const work = path.dirname(dir);
  const nginx: Record<string, unknown> = { kind: 'nginx', name: 'nginx', http: `127.0.0.1:${nginxPort}`, dest: path.join(dir, 'nginx.conf') };
  if (opts.template) nginx.template = opts.template;
  if (opts.minReloadInterval) nginx.minReloadInterval = opts.minReloadInterval;
  const targets = [nginx];
  if (haproxyPort) targets.push({ kind: 'haproxy', name: 'haproxy', http: `127.0.0.1:${haproxyPort}`, dest: path.join(work, 'haproxy/haproxy.cfg') });
  return writeRouterConfig(work, { domain: DOMAIN, debounce: { min: '20ms', max: '500ms' }, targets });
}

/** Until `n` requests to `host` give exactly the bodies in `expected` (as a set). */
async function waitBodies(router: NginxRouter, host: string, expected: string[], timeoutMs = 15_000): Promise<void> {
  const want = [...new Set(expected)].sort().join(',');
  await waitFor(
    async () => {
      const seen = new Set<string>();
      for (let i = 0; i < Math.max(6, expected.length * 4); i++) {
        const r = await router.request(host);
        seen.add(r.status === 200 ? r.body : `HTTP ${r.status}`);
      }
      return [...seen].sort().join(',') === want;
    },
    { timeoutMs, what: `${host} served through nginx by exactly ${want}` },
  );
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
    expect(router.upstream('ngweb')).toEqual(replicas.map((c) => `127.0.0.1:${c.hostPort} weight=100`).sort());

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
            const gone = !router.upstream('ngweb').some((u) => u.startsWith(`127.0.0.1:${victim.hostPort} `));
            return ep?.serving === 'drain' && gone && (await router.servesConfigOnDisk()) ? Date.now() : undefined;
          },
          { timeoutMs: 10_000, intervalMs: 10, what: 'nginx reloaded without the stopping replica' },
        );
        await stopping;
        return drained - started;
      },
    );
    expect(traffic.result, 'nginx let go of the replica before docker sent SIGKILL').toBeLessThan(2_000);
    expect(traffic.failures, `${traffic.failures.length} of ${traffic.total} requests failed`).toEqual([]);
    expect(traffic.total).toBeGreaterThan(100);
    expect([...traffic.seenAfter].sort()).toEqual(['n1', 'n3']);
    expect((await router.target()).lastApply.action).toBe('reload');
  });

  it('keeps serving the old config when nginx -t refuses a new one, and says why', async () => {
    // The default template, plus a directive nginx does not know whenever a service "breakme" is ready.
    const template = path.join(suite.perTest.tempDir('fabric-nginx-tpl-'), 'nginx.conf.hbs');
    fs.writeFileSync(
      template,
      fs
        .readFileSync(DEFAULT_NGINX_TEMPLATE, 'utf8')
        .replace('\nhttp {\n', '\nhttp {\n{{#each upstreams}}{{#if (eq service "breakme")}}  fabric_no_such_directive on;\n{{/if}}{{/each}}\n'),
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
    expect(router.reconfigurations()).toBe(before.reconfigurations + 1);
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
    expect(router.upstream('burst')).toEqual(ready.map((e) => `127.0.0.1:${e.port} weight=${e.weight}`).sort());
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
    const router = await startNginxRouter(suite.perTest, { haproxy: true });
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
    // The endpoint added later reached nginx by a reload and HAProxy at run time.
    expect(targets[0].lastApply.action).toBe('reload');
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
    const first = await startNginxRouter(suite.perTest);
    const [s1] = await startWebServers(suite.perTest, ['kept']);
    await first.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'kept', port: s1!.port })));
    expect((await first.request('kept.apps.test')).body).toBe('kept');
    await first.stop();
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
});
