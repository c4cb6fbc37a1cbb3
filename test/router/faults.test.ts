// What the router does when things go wrong: etcd away and back (and compacted meanwhile), a
// template that renders a config HAProxy refuses, bad and hostile values in etcd.
import fs from 'node:fs';
import path from 'node:path';
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdServer } from '../harness/index.js';
import { replaceFile } from '../harness/index.js';
import {
  bodies,
  DEFAULT_TEMPLATE,
  deleteEndpoint,
  type EndpointJson,
  endpoint,
  endpointKey,
  etcdClient,
  newContainerId,
  putEndpoint,
  putRaw,
  Resources,
  type RunningRouter,
  startEtcdFor,
  startRouter,
  startWebServers,
  TcpProxy,
  useResources,
  type WebServer,
  waitFor,
  waitServed,
} from './support.js';

const { file, perTest } = useResources();
let servers: WebServer[];

beforeAll(async () => {
  servers = await startWebServers(file, ['w0', 'w1', 'w2', 'w3']);
});

describe('etcd away and back', () => {
  it('keeps serving while etcd is down, is not ready, and applies what changed meanwhile once back', async () => {
    const etcd = await startEtcdFor(perTest);
    // The router reaches etcd through a proxy the test can hold shut after etcd is back, so a
    // change made "before the router reconnects" is made then for certain.
    const proxy = await TcpProxy.start(perTest, etcd.clientPort);
    const router = await startRouter(perTest, etcd, { etcdUrl: proxy.url });
    const writer = etcdClient(perTest, etcd);
    const a = endpoint({ service: 'steady', port: servers[0]!.port });
    const b = endpoint({ service: 'steady', port: servers[1]!.port });
    await putEndpoint(writer, a);
    await router.waitApplied(await putEndpoint(writer, b));
    await waitServed(router, 'steady.apps.test', ['w0', 'w1']);
    const reloadsBefore = await router.reloads();
    // The file follows a runtime change ~200 ms later (deferred write): take it once it lists both endpoints.
    const configBefore = await waitFor(
      async () => {
        const config = router.config();
        return [a, b].every((e) => config.includes(`127.0.0.1:${e.port} `)) ? config : undefined;
      },
      { timeoutMs: 10_000, what: 'the config file written with both endpoints' },
    );

    await etcd.stop({ keepData: true });
    const notReady = await waitFor(
      async () => {
        const r = await router.get('/readyz');
        return r.status === 503 ? r.json : undefined;
      },
      { timeoutMs: 15_000, what: '/readyz 503 with etcd down' },
    );
    expect(notReady.reasons.join(' ')).toMatch(/etcd/);
    // Last good state: still served, nothing re-rendered, the API still answers from memory.
    const during = await bodies(router, 'steady.apps.test', 20);
    expect(new Set(during)).toEqual(new Set(['w0', 'w1']));
    expect(router.config()).toBe(configBefore);
    expect((await router.get('/v1/services/steady')).json.endpoints).toHaveLength(2);
    expect((await router.get('/v1/services/steady/health')).status).toBe(200);
    expect((await router.status()).etcd.watch).not.toBe('watching');

    // etcd comes back, but the router cannot reach it yet: a second client changes things.
    proxy.cut();
    await etcd.start();
    const second = etcdClient(perTest, etcd);
    const c = endpoint({ service: 'steady', port: servers[2]!.port });
    await putEndpoint(second, c);
    a.weight = 50;
    const revisionWhileAway = await putEndpoint(second, a);
    expect((await router.get('/readyz')).status).toBe(503);
    expect(new Set(await bodies(router, 'steady.apps.test', 12))).toEqual(new Set(['w0', 'w1']));

    // The router reconnects and catches up on what it missed.
    proxy.restore();
    await waitFor(() => router.isReady(), { timeoutMs: 20_000, what: '/readyz 200 after etcd is back' });
    await router.waitApplied(revisionWhileAway, { timeoutMs: 15_000 });
    await waitServed(router, 'steady.apps.test', ['w0', 'w1', 'w2']);
    expect(await router.servedSet('svc_steady')).toEqual(
      [`127.0.0.1:${servers[0]!.port} w50`, `127.0.0.1:${servers[1]!.port} w100`, `127.0.0.1:${servers[2]!.port} w100`].sort(),
    );
    // And follows new changes as before.
    const rev = await deleteEndpoint(second, b);
    await router.waitApplied(rev);
    await waitServed(router, 'steady.apps.test', ['w0', 'w2']);
    const reloadsAfter = await router.reloads();
    expect(reloadsAfter.master, 'endpoint changes across the outage need no reload').toBe(reloadsBefore.master);
    expect(reloadsAfter.failed).toBe(0);
  });

  it('lists again when etcd compacted past the revision the router was watching from', async () => {
    const etcd = await startEtcdFor(perTest);
    const proxy = await TcpProxy.start(perTest, etcd.clientPort);
    const router = await startRouter(perTest, etcd, { etcdUrl: proxy.url });
    const writer = etcdClient(perTest, etcd);
    const a = endpoint({ service: 'compact', port: servers[0]!.port });
    const b = endpoint({ service: 'compact', port: servers[1]!.port });
    await putEndpoint(writer, a);
    await router.waitApplied(await putEndpoint(writer, b));
    await waitServed(router, 'compact.apps.test', ['w0', 'w1']);

    proxy.cut();
    await waitFor(async () => (await router.get('/readyz')).status === 503, { timeoutMs: 15_000, what: '/readyz 503 with etcd cut off' });
    const c = endpoint({ service: 'compact', port: servers[2]!.port });
    await putEndpoint(writer, c);
    await deleteEndpoint(writer, a);
    // Churn a key so the history the router needs is really gone.
    for (let i = 0; i < 5; i++) await putRaw(writer, 'other/filler', String(i));
    const revision = await putRaw(writer, 'other/filler', 'last');
    await etcd.etcdctl(['compact', String(revision)]);

    proxy.restore();
    await waitFor(() => router.isReady(), { timeoutMs: 20_000, what: '/readyz 200 after etcd is reachable again' });
    await router.waitApplied(revision, { timeoutMs: 15_000 });
    await waitServed(router, 'compact.apps.test', ['w1', 'w2']);
    expect(router.proc.output()).toMatch(/listing again/);
    expect((await router.status()).etcd.revision).toBeGreaterThanOrEqual(revision);
  });
});

describe('HAProxy dies', () => {
  it('is started again by the router, on the current config', async () => {
    const etcd = await startEtcdFor(perTest);
    const router = await startRouter(perTest, etcd);
    const writer = etcdClient(perTest, etcd);
    const a = endpoint({ service: 'phoenix', port: servers[0]!.port });
    await router.waitApplied(await putEndpoint(writer, a));
    await waitServed(router, 'phoenix.apps.test', ['w0']);
    const first = await router.showProc();

    const startsBefore = (await router.target()).counters.reloads;
    process.kill(first.masterPid, 'SIGKILL');
    // The router notices (its child exited), renders again and starts a new HAProxy.
    const restarted = await waitFor(
      async () => {
        const t = await router.target();
        return t.lastApply.action === 'start' && t.counters.reloads > startsBefore ? t : undefined;
      },
      { timeoutMs: 20_000, what: 'the router to start HAProxy again' },
    );
    expect(restarted.lastError).toBeUndefined();
    const second = await router.showProc();
    expect(second.masterPid).not.toBe(first.masterPid);
    expect(second.workers.length).toBeGreaterThan(0);
    await waitFor(() => router.isReady(), { what: '/readyz 200 again' });
    await waitServed(router, 'phoenix.apps.test', ['w0'], 15_000);
    // And it goes on following etcd.
    const b = endpoint({ service: 'phoenix', port: servers[1]!.port });
    await router.waitApplied(await putEndpoint(writer, b));
    await waitServed(router, 'phoenix.apps.test', ['w0', 'w1']);
  });
});

describe('a template that renders a config HAProxy refuses', () => {
  it('keeps the old config serving, reports FABRIC_ERR_VALIDATE, and recovers on the next good change', async () => {
    // The default template plus one line that is not HAProxy syntax, rendered only for a
    // service named "broken": the template is fine until that service shows up.
    const dir = perTest.tempDir('fabric-template-');
    const template = path.join(dir, 'haproxy.cfg.hbs');
    const source = fs.readFileSync(DEFAULT_TEMPLATE, 'utf8');
    const anchor = '  # service {{service}}\n';
    expect(source).toContain(anchor);
    replaceFile(template, source.replace(anchor, `${anchor}{{#if (eq service "broken")}}  this-is-not-a-keyword at-all\n{{/if}}`));
    const etcd = await startEtcdFor(perTest);
    // Spare backends off: "broken" must come with a reload (in a spare it would be served at run time).
    const router = await startRouter(perTest, etcd, { template, haproxy: { spares: 0 } });
    const writer = etcdClient(perTest, etcd);
    const good = endpoint({ service: 'good', port: servers[0]!.port });
    await router.waitApplied(await putEndpoint(writer, good));
    await waitServed(router, 'good.apps.test', ['w0']);
    const configBefore = router.config();
    const reloadsBefore = await router.reloads();
    expect(await router.metric('fabric_router_validation_failures_total')).toBe(0);

    const broken = endpoint({ service: 'broken', port: servers[1]!.port });
    await putEndpoint(writer, broken);
    const target = await waitFor(
      async () => {
        const t = await router.target();
        return t.lastError ? t : undefined;
      },
      { what: 'the apply to fail' },
    );
    expect(target.lastError.code).toBe('FABRIC_ERR_VALIDATE');
    expect(target.lastError.message).toMatch(/this-is-not-a-keyword/); // HAProxy's own words
    expect(target.state).toBe('failed');
    expect(await router.metric('fabric_router_validation_failures_total', { target: 'haproxy-0' })).toBe(1);
    expect(await router.metric('fabric_router_apply_failures_total', { code: 'FABRIC_ERR_VALIDATE' })).toBe(1);
    const ready = await router.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json.reasons.join(' ')).toMatch(/FABRIC_ERR_VALIDATE/);

    // Never deployed: same file, no reload tried, the old config still serves.
    expect(router.config()).toBe(configBefore);
    expect(fs.readdirSync(router.dir).filter((f) => f.endsWith('.stage'))).toEqual([]);
    const reloadsDuring = await router.reloads();
    expect(reloadsDuring.master).toBe(reloadsBefore.master);
    expect(reloadsDuring.failed).toBe(0);
    expect(new Set(await bodies(router, 'good.apps.test', 10))).toEqual(new Set(['w0']));
    expect((await router.request('broken.apps.test')).status).toBe(404);

    // The next change tries again (and fails again while "broken" is there).
    const good2 = endpoint({ service: 'good', port: servers[2]!.port });
    await putEndpoint(writer, good2);
    await waitFor(async () => (await router.metric('fabric_router_validation_failures_total')) === 2, {
      what: 'a second validation attempt',
    });
    expect(new Set(await bodies(router, 'good.apps.test', 10))).toEqual(new Set(['w0']));

    // The bad service goes away: the next apply succeeds, the error clears, readiness returns.
    const rev = await deleteEndpoint(writer, broken);
    await router.waitApplied(rev);
    await waitFor(() => router.isReady(), { what: '/readyz 200 after the fix' });
    expect((await router.target()).lastError).toBeUndefined();
    await waitServed(router, 'good.apps.test', ['w0', 'w2']);
    expect(router.config()).not.toMatch(/this-is-not-a-keyword/);
    expect((await router.reloads()).failed).toBe(0);
  });
});

describe('a template that renders a config HAProxy refuses, from the start', () => {
  it("starts nothing, reports FABRIC_ERR_VALIDATE in HAProxy's words, and starts on the next good change", async () => {
    // No `haproxy -c` before a start (lb/haproxy/target.ts): HAProxy refuses the file itself, and -c then says why.
    const dir = perTest.tempDir('fabric-template-');
    const template = path.join(dir, 'haproxy.cfg.hbs');
    const source = fs.readFileSync(DEFAULT_TEMPLATE, 'utf8');
    const anchor = '  # service {{service}}\n';
    replaceFile(template, source.replace(anchor, `${anchor}{{#if (eq service "broken")}}  this-is-not-a-keyword at-all\n{{/if}}`));
    const etcd = await startEtcdFor(perTest);
    const writer = etcdClient(perTest, etcd);
    const broken = endpoint({ service: 'broken', port: servers[1]!.port });
    await putEndpoint(writer, broken);
    const router = await startRouter(perTest, etcd, { template, haproxy: { spares: 0 }, waitReady: false });
    const target = await waitFor(
      async () => {
        const t = await router.target();
        return t.lastError ? t : undefined;
      },
      { what: 'the start to fail' },
    );
    expect(target.lastError.code).toBe('FABRIC_ERR_VALIDATE');
    expect(target.lastError.message).toMatch(/this-is-not-a-keyword/);
    expect(await router.metric('fabric_router_validation_failures_total', { target: 'haproxy-0' })).toBeGreaterThanOrEqual(1);
    expect((await router.get('/readyz')).status).toBe(503);

    await deleteEndpoint(writer, broken);
    await router.waitApplied(await putEndpoint(writer, endpoint({ service: 'good', port: servers[0]!.port })));
    await waitFor(() => router.isReady(), { what: '/readyz 200 once the config loads' });
    await waitServed(router, 'good.apps.test', ['w0']);
    expect((await router.target()).lastError).toBeUndefined();
  });
});

describe('bad and hostile values in etcd', () => {
  let etcd: EtcdServer;
  let router: RunningRouter;
  let writer: Etcd3;
  const shared = new Resources();

  beforeAll(async () => {
    etcd = await startEtcdFor(shared);
    router = await startRouter(shared, etcd);
    writer = etcdClient(shared, etcd);
  });
  afterAll(() => shared.release());

  async function issueFor(subject: string): Promise<any> {
    return waitFor(async () => ((await router.status()).issues as any[]).find((i) => i.subject === subject), {
      what: `an issue reported for ${subject}`,
    });
  }

  it('skips and reports an unparseable endpoint, service spec and route; every other service is served', async () => {
    const ok = endpoint({ service: 'mixed', port: servers[0]!.port });
    const other = endpoint({ service: 'other', port: servers[1]!.port });
    await putEndpoint(writer, ok);
    await putEndpoint(writer, other);
    const badEndpointKey = `endpoints/mixed/h1/${newContainerId()}`;
    await putRaw(writer, badEndpointKey, '{"service": "mixed", "address": ');
    await putRaw(writer, 'services/spec-bad', '{"name": "spec-bad", "balance": "fastest"}');
    const rev = await putRaw(writer, 'routes/route-bad', 'not json at all');
    await router.waitApplied(rev);

    for (const subject of [badEndpointKey, 'services/spec-bad', 'routes/route-bad']) {
      const issue = await issueFor(subject);
      expect(issue.code).toBe('FABRIC_ERR_DECODE');
      expect(issue.message.length).toBeGreaterThan(0);
    }
    expect(await router.metric('fabric_router_model_issues')).toBeGreaterThanOrEqual(3);
    // The router stays ready: bad keys are the data's problem, not the router's.
    expect(await router.isReady()).toBe(true);
    await waitServed(router, 'mixed.apps.test', ['w0']);
    await waitServed(router, 'other.apps.test', ['w1']);
    expect((await router.get('/v1/services/mixed')).json.endpoints).toHaveLength(1);
    expect((await router.request('spec-bad.apps.test')).status).toBe(404);

    // Fixed in etcd: the issue goes away.
    await writer.delete().key(`/fabric/${badEndpointKey}`).exec();
    await waitFor(async () => !((await router.status()).issues as any[]).some((i) => i.subject === badEndpointKey), {
      what: 'the issue to clear',
    });
  });

  it('gives a contested domain to the older claim and reports the loser', async () => {
    const first = endpoint({ service: 'first', port: servers[0]!.port, domains: ['contested.example.com'] });
    const second = endpoint({ service: 'second', port: servers[1]!.port, domains: ['contested.example.com'] });
    await putEndpoint(writer, first);
    await router.waitApplied(await putEndpoint(writer, second));
    const issue = await issueFor('services/second');
    expect(issue).toMatchObject({ code: 'FABRIC_ERR_CONFLICT', message: expect.stringMatching(/contested\.example\.com.*first/) });
    expect(new Set(await bodies(router, 'contested.example.com', 6))).toEqual(new Set(['w0']));
    expect((await router.request('second.apps.test')).body).toBe('w1'); // its own subdomain is unaffected
    expect((await router.get('/v1/services/second')).json.domains).toEqual(['second.apps.test']);
  });

  it('never lets an injected value into the config: skipped, reported, the rest served', async () => {
    const fine = endpoint({ service: 'fine', port: servers[2]!.port });
    await putEndpoint(writer, fine);
    const evil = 'a.com\n  server evil 1.2.3.4:80';
    const hostile: Array<[string, EndpointJson | Record<string, unknown>]> = [];
    const variants: Array<(e: EndpointJson) => Record<string, unknown>> = [
      (e) => ({ ...e, domains: [evil] }),
      (e) => ({ ...e, address: '1.2.3.4:80\n  server evil 1.2.3.4' }),
      (e) => ({ ...e, path: '/x\n  server evil 1.2.3.4:80' }),
      (e) => ({ ...e, name: 'x\n  server evil 1.2.3.4:80' }),
      (e) => ({ ...e, version: 'v1 evil' }),
      (e) => ({ ...e, weight: '100\n  server evil 1.2.3.4:80' }),
      (e) => ({ ...e, port: 80.5 }),
    ];
    for (const variant of variants) {
      const base = endpoint({ service: 'hostile', port: servers[3]!.port });
      hostile.push([endpointKey(base).replace(/^\/fabric\//, ''), variant(base)]);
    }
    // A key whose service differs from the JSON's, and a Service spec claiming an injected domain.
    const mismatched = endpoint({ service: 'fine', port: servers[3]!.port });
    hostile.push([`endpoints/hostile/h1/${mismatched.container}`, mismatched]);
    hostile.push(['services/hostile', { name: 'hostile', domains: [evil] }]);
    let rev = 0;
    for (const [key, value] of hostile) rev = await putRaw(writer, key, JSON.stringify(value));
    await router.waitApplied(rev);

    for (const [key] of hostile) expect((await issueFor(key)).code).toBe('FABRIC_ERR_DECODE');
    const rendered = [
      router.config(),
      fs.readFileSync(path.join(router.dir, 'hosts.map'), 'utf8'),
      fs.readFileSync(path.join(router.dir, 'paths.map'), 'utf8'),
    ].join('\n');
    expect(rendered).not.toMatch(/evil/);
    expect(rendered).not.toMatch(/1\.2\.3\.4/);
    expect(rendered).not.toMatch(/a\.com/);
    expect(((await router.get('/v1/services')).json.services as any[]).map((s) => s.name)).not.toContain('hostile');
    // HAProxy itself agrees: no server "evil" anywhere, and the rest is served.
    expect((await router.serversState()).map((s) => s.name)).not.toContain('evil');
    await waitServed(router, 'fine.apps.test', ['w2']);
    expect((await router.request('a.com')).status).toBe(404);
    expect(await router.isReady()).toBe(true);
  });
});
