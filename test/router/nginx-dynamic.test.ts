// nginx without reloads (lb/nginx/dynamic): the real `fabric router` driving a real nginx 1.22 with
// Debian's Lua module, endpoints written straight into a real etcd, static web servers on 127.0.0.1.
// Endpoint churn must reach nginx through its control socket with no reload; structure still reloads.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pushPeers } from '../../lb/nginx/dynamic/control.js';
import { isNginx } from '../../lb/nginx/procfs.js';
import { ROOT, replaceFile } from '../harness/index.js';
import { dynamicByDefault, type NginxRouter, type NginxRouterOptions, startNginxRouter as startRouterWithNginx, waitBodies } from './nginx-support.js';
import { requestTarget } from './policy-support.js';
import {
  deleteEndpoint,
  type EndpointJson,
  endpoint,
  PREFIX,
  putEndpoint,
  putRaw,
  type Resources,
  startWebServers,
  useRouterSuite,
  waitFor,
} from './support.js';

const suite = useRouterSuite({
  router: false,
  afterEach: async () => void (await suite.client.delete().prefix(`${PREFIX}/`).exec()),
});

function startNginxRouter(res: Resources, opts: NginxRouterOptions = {}): Promise<NginxRouter> {
  return startRouterWithNginx(res, suite.etcd, { dynamic: true, ...opts });
}

/** What must not move while only endpoints change: nginx's reload count and its worker pids. */
function structure(router: NginxRouter) {
  return {
    reconfigurations: router.reconfigurations(),
    master: router.masterPid(),
    workers: router
      .workers()
      .map((w) => w.pid)
      .sort(),
  };
}

/** An HTTP request to nginx's public listener with any method (the control paths must not answer there). */
function publicRequest(port: number, method: string, pathname: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: pathname, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(method === 'GET' ? undefined : 'base x\nversion x\n');
  });
}

describe.skipIf(!dynamicByDefault())('kind: nginx, dynamic upstreams', () => {
  it('takes adds, removals, weights, drain and health at run time with no reload, serving exactly the desired set', async () => {
    const router = await startNginxRouter(suite.perTest);
    const servers = await startWebServers(suite.perTest, ['c0', 'c1', 'c2', 'c3']);
    const eps = servers.map((s) => endpoint({ service: 'churn', port: s.port }));
    await router.waitApplied(await putEndpoint(suite.client, eps[0]!));
    await waitBodies(router, 'churn.apps.test', ['c0']);
    await waitFor(() => router.workers().every((w) => !/shutting down/.test(w.title)), { what: 'no old nginx worker left' });
    const before = structure(router);
    const reloadsBefore = (await router.target()).counters.reloads;

    const step = async (change: () => Promise<number>, bodies: string[], peers: (e: EndpointJson[]) => string[]) => {
      await router.waitApplied(await change());
      expect(await router.upstream('churn')).toEqual(peers(eps).sort());
      await waitBodies(router, 'churn.apps.test', bodies);
    };
    const at = (e: EndpointJson, w = e.weight) => `127.0.0.1:${e.port} weight=${w}`;
    // Add two.
    await step(
      () => putEndpoint(suite.client, eps[1]!),
      ['c0', 'c1'],
      (e) => [at(e[0]!), at(e[1]!)],
    );
    await step(
      () => putEndpoint(suite.client, eps[2]!),
      ['c0', 'c1', 'c2'],
      (e) => [at(e[0]!), at(e[1]!), at(e[2]!)],
    );
    // A weight.
    eps[1]!.weight = 7;
    await step(
      () => putEndpoint(suite.client, eps[1]!),
      ['c0', 'c1', 'c2'],
      (e) => [at(e[0]!), at(e[1]!, 7), at(e[2]!)],
    );
    // Drain one, another unhealthy: both stay in the dict, neither is served.
    eps[0]!.state = 'draining';
    await step(
      () => putEndpoint(suite.client, eps[0]!),
      ['c1', 'c2'],
      (e) => [at(e[1]!, 7), at(e[2]!)],
    );
    eps[2]!.health = 'unhealthy';
    await step(
      () => putEndpoint(suite.client, eps[2]!),
      ['c1'],
      (e) => [at(e[1]!, 7)],
    );
    const held = await router.peers('svc_churn');
    expect(held.filter((p) => p.drain).map((p) => p.target)).toEqual([`127.0.0.1:${eps[0]!.port}`]);
    expect(held.filter((p) => !p.healthy).map((p) => p.target)).toEqual([`127.0.0.1:${eps[2]!.port}`]);
    // Remove, add back, and healthy again.
    await router.waitApplied(await deleteEndpoint(suite.client, eps[1]!));
    // No usable peer left (one draining, one unhealthy): the balancer answers 503, never a stale peer.
    await step(
      async () => 0,
      ['HTTP 503'],
      () => [],
    );
    expect((await router.request('churn.apps.test')).body).toMatch(/no ready endpoint/);
    await step(
      () => putEndpoint(suite.client, eps[3]!),
      ['c3'],
      (e) => [at(e[3]!)],
    );
    eps[2]!.health = 'healthy';
    await step(
      () => putEndpoint(suite.client, eps[2]!),
      ['c2', 'c3'],
      (e) => [at(e[2]!), at(e[3]!)],
    );

    expect(structure(router), 'no reload: same master, same workers, no "reconfiguring"').toEqual(before);
    const target = await router.target();
    expect(target.counters.reloads).toBe(reloadsBefore);
    expect(target.lastApply.action).toBe('runtime');
    // Only the upstream that changed went to nginx.
    expect(target.lastApply.detail).toMatch(/^peers of 1 changed and 0 removed of 1 upstreams \(3 endpoints; 1 catch-all host\)/);
    expect(target.limitations).toBeUndefined();
  });

  it('balance: source keeps each client on its peer, and a peer joining or leaving moves only its own clients', async () => {
    const router = await startNginxRouter(suite.perTest);
    const servers = await startWebServers(suite.perTest, ['h0', 'h1', 'h2', 'h3']);
    const eps = servers.map((s) => endpoint({ service: 'sticky', port: s.port }));
    await putRaw(suite.client, 'services/sticky', JSON.stringify({ kind: 'Service', name: 'sticky', balance: 'source' }));
    for (const e of eps.slice(0, 3)) await putEndpoint(suite.client, e);
    const peersAre = (n: number) => waitFor(async () => (await router.upstream('sticky')).length === n, { what: `sticky with ${n} peers in nginx` });
    await peersAre(3);
    // 120 client addresses on loopback, each asked twice: the same peer both times. (Expected to move
    // when a fourth peer joins: a quarter; in 3,000 random rings of these peers at most 51 of 120 did.)
    const clients = Array.from({ length: 120 }, (_, i) => `127.0.0.${10 + i}`);
    const served = async () => {
      const by = new Map<string, string>();
      for (const from of clients) by.set(from, (await requestTarget(router, 'nginx', 'sticky.apps.test', { from })).body);
      return by;
    };
    const before = await served();
    expect(await served()).toEqual(before);
    expect(new Set(before.values()).size, 'clients spread over the peers').toBeGreaterThan(1);
    expect([...before.values()].every((b) => ['h0', 'h1', 'h2'].includes(b))).toBe(true);

    // h3 joins: a client either keeps its peer or moves to h3; most keep theirs.
    await putEndpoint(suite.client, eps[3]!);
    await peersAre(4);
    const joined = await served();
    const moved = clients.filter((c) => joined.get(c) !== before.get(c));
    expect(
      moved.every((c) => joined.get(c) === 'h3'),
      'only moves to the new peer',
    ).toBe(true);
    expect(moved.length).toBeLessThan(clients.length / 2);

    // h0 leaves: only h0's clients move.
    await deleteEndpoint(suite.client, eps[0]!);
    await peersAre(3);
    const left = await served();
    for (const c of clients) if (joined.get(c) !== 'h0') expect(left.get(c), c).toBe(joined.get(c));
    expect([...left.values()]).not.toContain('h0');
  });

  it('pushes the whole state when nginx holds another version than the one a patch builds on', async () => {
    const router = await startNginxRouter(suite.perTest);
    const [p1, p2, p3] = await startWebServers(suite.perTest, ['p1', 'p2', 'p3']);
    const first = endpoint({ service: 'patched', port: p1!.port });
    await router.waitApplied(await putEndpoint(suite.client, first));
    await waitBodies(router, 'patched.apps.test', ['p1']);
    // Another writer on the control socket: nginx now holds a version the router never sent.
    const control = path.join(router.dir, 'run/control.sock');
    const foreign = `version f0reign\nupstream svc_patched roundrobin\n127.0.0.1 ${p3!.port} 100 0 1\nhost patched.apps.test svc_patched\n`;
    expect(await pushPeers(control, foreign)).toBe(foreign);
    await waitBodies(router, 'patched.apps.test', ['p3']);
    const before = structure(router);
    // The next change is a patch on a base nginx does not hold: refused (409), then the whole state goes.
    await router.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'patched', port: p2!.port })));
    await waitBodies(router, 'patched.apps.test', ['p1', 'p2']);
    expect(await router.upstream('patched')).toEqual([`127.0.0.1:${p1!.port} weight=100`, `127.0.0.1:${p2!.port} weight=100`].sort());
    const target = await router.target();
    expect(target.lastApply).toMatchObject({ action: 'runtime', detail: expect.stringMatching(/^peers of 1 upstreams \(2 endpoints; 1 catch-all host\)/) });
    expect(router.proc.output()).toMatch(/holds version f0reign/);
    expect(structure(router)).toEqual(before);
    // And patches again from there.
    await router.waitApplied(await deleteEndpoint(suite.client, first));
    await waitBodies(router, 'patched.apps.test', ['p2']);
    expect((await router.target()).lastApply.detail).toMatch(/^peers of 1 changed and 0 removed of 1 upstreams/);
  });

  it('serves a new plain service with no reload, reloads for structure, and after a restart pushes again before serving', async () => {
    const router = await startNginxRouter(suite.perTest);
    const [a1, a2, b1] = await startWebServers(suite.perTest, ['a1', 'a2', 'b1']);
    await putEndpoint(suite.client, endpoint({ service: 'alpha', port: a1!.port }));
    await router.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'alpha', port: a2!.port })));
    await waitBodies(router, 'alpha.apps.test', ['a1', 'a2']);
    await waitFor(() => router.workers().every((w) => !/shutting down/.test(w.title)), { what: 'no old nginx worker left' });
    const before = structure(router);

    // A new service with nothing of its own but its subdomain: the catch-all server routes it from the dict.
    const beta = endpoint({ service: 'beta', port: b1!.port });
    await router.waitApplied(await putEndpoint(suite.client, beta));
    await waitBodies(router, 'beta.apps.test', ['b1']);
    expect(structure(router), 'no reload for a plain new service').toEqual(before);
    expect(router.config()).not.toMatch(/beta/);
    // Gone again: its host answers 404 as any unknown host, still no reload.
    await router.waitApplied(await deleteEndpoint(suite.client, beta));
    await waitFor(async () => (await router.request('beta.apps.test')).status === 404, { what: 'beta.apps.test unknown again' });
    expect(structure(router)).toEqual(before);
    await router.waitApplied(await putEndpoint(suite.client, beta));
    await waitBodies(router, 'beta.apps.test', ['b1']);

    // A policy gives beta a server block of its own: one reload; alpha keeps its peers through it.
    const spec = { kind: 'Service', name: 'beta', headers: { response: { 'X-Beta': 'own-block' } } };
    await router.waitApplied(await putRaw(suite.client, 'services/beta', JSON.stringify(spec)));
    await waitFor(() => router.reconfigurations() === before.reconfigurations + 1, { what: 'one reload for the server block' });
    expect(await router.servesConfigOnDisk()).toBe(true);
    expect(router.config()).toMatch(/server_name beta\.apps\.test;/);
    await waitBodies(router, 'beta.apps.test', ['b1']);
    expect((await router.request('beta.apps.test')).headers['x-beta']).toBe('own-block');
    await waitBodies(router, 'alpha.apps.test', ['a1', 'a2']);

    // nginx killed: the router starts it again and pushes the peers (its dict started empty).
    const master = router.masterPid();
    process.kill(master, 'SIGKILL');
    await waitFor(async () => router.masterPid() !== master && isNginx(router.masterPid()) && (await router.target()).lastApply?.action === 'start', {
      timeoutMs: 15_000,
      what: 'nginx restarted by the router',
    });
    await waitBodies(router, 'alpha.apps.test', ['a1', 'a2']);
    await waitBodies(router, 'beta.apps.test', ['b1']);
    expect(await router.upstream('alpha')).toEqual([`127.0.0.1:${a1!.port} weight=100`, `127.0.0.1:${a2!.port} weight=100`].sort());
  });

  it("serves the peer state only on its unix socket, the router's alone, and refuses anything but GET, PUT and PATCH there", async () => {
    const router = await startNginxRouter(suite.perTest);
    const [s1] = await startWebServers(suite.perTest, ['only']);
    await router.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'only', port: s1!.port })));
    await waitBodies(router, 'only.apps.test', ['only']);
    for (const host of ['only.apps.test', 'fabric-control', 'localhost', 'nope.apps.test']) {
      for (const method of ['GET', 'PUT', 'PATCH']) {
        const res = await publicRequest(router.nginxPort, method, '/fabric/peers', host);
        const what = `${method} /fabric/peers on the public listener, Host ${host}`;
        // The service's own host passes the path to the service; any other host has nothing there.
        if (host === 'only.apps.test') expect(res, what).toEqual({ status: 200, body: 'only' });
        else expect(res.status, what).toBe(404);
        expect(res.body, what).not.toMatch(/^version /);
      }
    }
    // The socket's directory is the router's alone.
    expect(fs.statSync(path.join(router.dir, 'run')).mode & 0o777).toBe(0o700);
    const control = path.join(router.dir, 'run/control.sock');
    const post = await new Promise<number>((resolve, reject) => {
      const req = http.request({ socketPath: control, method: 'POST', path: '/fabric/peers', agent: false, headers: { host: 'x' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end('version x\n');
    });
    expect(post).toBe(405);
    expect(await router.upstream('only')).toEqual([`127.0.0.1:${s1!.port} weight=100`]);
  });

  it('falls back to reloads when nginx does not take a push, and says so in the status', async () => {
    // The default template, with a control location that takes nothing: every read-back is "version -".
    const template = path.join(suite.perTest.tempDir('fabric-nginx-tpl-'), 'nginx.conf.hbs');
    const original = fs.readFileSync(path.join(ROOT, 'templates/nginx.conf.hbs'), 'utf8');
    const broken = original.replace('content_by_lua_block { fabric_peers.control() }', 'default_type text/plain;\n      return 200 "version -\\n";');
    expect(broken).not.toBe(original);
    replaceFile(template, broken);
    const router = await startNginxRouter(suite.perTest, { template });
    const [s1, s2] = await startWebServers(suite.perTest, ['f1', 'f2']);
    await router.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'fall', port: s1!.port })));
    await waitBodies(router, 'fall.apps.test', ['f1']);
    const target = await router.target();
    expect(target.limitations).toEqual([expect.stringMatching(/run-time upstreams off: nginx did not take a push/)]);
    expect(router.config()).toMatch(new RegExp(`server 127\\.0\\.0\\.1:${s1!.port} weight=100`));
    // From then on endpoint changes reload, as without the module.
    const reconfigured = router.reconfigurations();
    await router.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'fall', port: s2!.port })));
    await waitBodies(router, 'fall.apps.test', ['f1', 'f2']);
    expect(router.reconfigurations()).toBe(reconfigured + 1);
  });

  it('without the module says so once and reloads as before', async () => {
    const empty = suite.perTest.tempDir('fabric-no-modules-');
    // Asked for (dynamic: true) where the modules are not: the helper reads its upstreams from the config.
    const router = await startNginxRouter(suite.perTest, { dynamic: false, nginx: { dynamic: true, modulesDir: empty } });
    const [s1, s2] = await startWebServers(suite.perTest, ['m1', 'm2']);
    await router.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'plain', port: s1!.port })));
    const reconfigured = router.reconfigurations();
    await router.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'plain', port: s2!.port })));
    await waitBodies(router, 'plain.apps.test', ['m1', 'm2']);
    expect(router.reconfigurations()).toBe(reconfigured + 1);
    expect(await router.upstream('plain')).toHaveLength(2);
    const target = await router.target();
    expect(target.lastApply.action).toBe('reload');
    expect(target.limitations).toEqual([expect.stringMatching(/Lua module is not installed/)]);
    expect(router.config()).not.toMatch(/load_module|balancer_by_lua/);
    const log = router.proc.output();
    expect(log.split('\n').filter((l) => l.includes('Lua module is not installed'))).toHaveLength(1);
  });
});
