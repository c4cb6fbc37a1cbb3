// Per-service VIPs with two routers racing over one etcd: unique addresses from the pool, stable
// across a router restart, released with the Service, a taken address refused, and VIP:port
// reaching the service through HAProxy. The pool is on loopback (127/8 is local on Linux), so
// HAProxy binds the VIPs without vipInterface.
import http from 'node:http';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { freeAddress } from '../../lb/vip/plan.js';
import { VipPool } from '../../lb/vip/pool.js';
import { CLI, createNetns, freePort, type NetNamespace } from '../harness/index.js';
import { endpoint, PREFIX, putEndpoint, putRaw, Resources, type RunningRouter, startRouter, startWebServers, useRouterSuite, waitFor } from './support.js';

const POOL = '127.77.0.0/24';
const COUNT = 100;
const names = Array.from({ length: COUNT }, (_, i) => `svc-${String(i).padStart(3, '0')}`);

const suite = useRouterSuite({ router: false });
let routerA: RunningRouter;
let routerB: RunningRouter;
let bResources = new Resources();
let vipPort: number;

/** Router B's HAProxy, as on a second router machine: in a network namespace of its own (its own loopback). */
let otherHost: NetNamespace;
const startWithPool = (res: Resources, binary?: string) => startRouter(res, suite.etcd, { config: { vipPool: POOL }, binary });
const startB = (res: Resources) => startWithPool(res, otherHost.wrap('/usr/sbin/haproxy', suite.file.tempDir('fabric-netns-')));

beforeAll(async () => {
  vipPort = await freePort();
  otherHost = await createNetns();
  suite.file.defer(() => otherHost.remove());
  [routerA, routerB] = await Promise.all([startWithPool(suite.file), startB(bResources)]);
  suite.file.defer(() => bResources.release());
});

/** `vips/<address>` → service, straight from etcd. */
async function vipKeys(): Promise<Map<string, string>> {
  const all = await suite.client.getAll().prefix(`${PREFIX}/vips/`).strings();
  return new Map(Object.entries(all).map(([key, service]) => [key.slice(`${PREFIX}/vips/`.length), service]));
}

function inPool(address: string): boolean {
  const parts = address.split('.').map(Number);
  return parts.length === 4 && parts[0] === 127 && parts[1] === 77 && parts[2] === 0 && parts[3]! >= 1 && parts[3]! <= 254;
}

/** service → `address:port` of every service with a VIP, as the router's API shows them. */
async function vipsSeenBy(router: RunningRouter): Promise<Record<string, string>> {
  const services: any[] = (await router.get('/v1/services')).json.services;
  return Object.fromEntries(services.filter((s) => s.vip).map((s) => [s.name, s.vip]));
}

function sameVips(seen: Record<string, string>, expected: Record<string, string>): boolean {
  return Object.keys(seen).length === Object.keys(expected).length && Object.entries(expected).every(([k, v]) => seen[k] === v);
}

async function vipOf(router: RunningRouter, service: string): Promise<string | null> {
  const res = await router.get(`/v1/services/${service}`);
  return res.status === 200 ? res.json.vip : null;
}

async function conflictsOf(router: RunningRouter, service: string): Promise<string[]> {
  return ((await router.get(`/v1/services/${service}`)).json.conflicts ?? []).map((c: any) => `${c.code}: ${c.message}`);
}

/** `fabric apply -f -` with these documents, against the suite's etcd. */
async function apply(documents: object[]): Promise<{ code: number; stderr: string }> {
  const input = documents.map((d) => toYaml(d)).join('---\n');
  const result = await execa(process.execPath, [CLI, 'apply', '-f', '-', '--etcd', suite.etcd.endpoint, '--etcd-prefix', PREFIX], {
    input,
    reject: false,
    timeout: 30_000,
  });
  return { code: result.exitCode ?? -1, stderr: String(result.stderr) };
}

async function issuesOf(router: RunningRouter, subject: string): Promise<string[]> {
  return ((await router.status()).issues as any[]).filter((i) => i.subject === subject).map((i) => `${i.code}: ${i.message}`);
}

/** GET http://address:port/ with a Host no domain rule knows. */
function get(address: string, port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: address, port, path: '/', headers: { host: 'whatever.example' }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.setTimeout(2_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('per-service VIPs', () => {
  let allocated: Map<string, string>;

  it('two routers allocate 100 distinct addresses from the pool, one per service', async () => {
    // All 100 Services in one transaction, while both routers watch.
    const txn = suite.client.if(`${PREFIX}/services/${names[0]}`, 'Create', '==', 0);
    txn.then(
      ...names.map((name) => suite.client.put(`${PREFIX}/services/${name}`).value(JSON.stringify({ kind: 'Service', name, vip: 'auto', port: vipPort }))),
    );
    expect((await txn.commit()).succeeded).toBe(true);

    allocated = await waitFor(
      async () => {
        const keys = await vipKeys();
        const services = new Set(keys.values());
        return keys.size === COUNT && services.size === COUNT ? keys : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: `${COUNT} VIP keys, one per service` },
    );
    expect([...allocated.keys()].every(inPool), 'every address in the pool').toBe(true);
    expect(new Set(allocated.values())).toEqual(new Set(names));

    // Both routers see (and bind) the same addresses.
    const expected = Object.fromEntries([...allocated].map(([address, service]) => [service, `${address}:${vipPort}`]));
    for (const router of [routerA, routerB]) {
      await waitFor(async () => sameVips(await vipsSeenBy(router), expected), { timeoutMs: 30_000, intervalMs: 200, what: 'the router serves every VIP' });
      await waitFor(async () => !(await router.target()).lastError && [...allocated.keys()].every((a) => router.config().includes(`bind ${a}:${vipPort}`)), {
        timeoutMs: 30_000,
        intervalMs: 200,
        what: 'HAProxy runs a frontend for every VIP',
      });
    }
    // Nothing left in the store but one key per service (no leftovers of lost races).
    expect((await vipKeys()).size).toBe(COUNT);
  });

  it('VIP:port reaches the service', async () => {
    const [server] = await startWebServers(suite.file, ['svc-007 here']);
    await routerA.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'svc-007', port: server!.port })));
    const address = [...allocated].find(([, s]) => s === 'svc-007')![0];
    await waitFor(async () => (await routerB.status()).appliedRevision >= (await routerA.status()).appliedRevision, { what: 'router B caught up' });
    // Any Host header: the VIP frontend sends everything to the service's backend.
    const res = await waitFor(
      async () => {
        const r = await get(address, vipPort).catch(() => undefined);
        return r?.status === 200 ? r : undefined;
      },
      { timeoutMs: 10_000, what: `GET http://${address}:${vipPort}/` },
    );
    expect(res.body).toBe('svc-007 here');
  });

  it('a restarted router keeps every address', async () => {
    await bResources.release();
    bResources = new Resources();
    routerB = await startB(bResources);
    const expected = Object.fromEntries([...allocated].map(([address, service]) => [service, `${address}:${vipPort}`]));
    await waitFor(async () => sameVips(await vipsSeenBy(routerB), expected), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'the restarted router serves every VIP',
    });
    expect(await vipKeys()).toEqual(allocated);
  });

  it('deleting a Service releases its VIP; another service may then have it', async () => {
    const [address] = [...allocated].find(([, s]) => s === 'svc-099')!;
    await suite.client.delete().key(`${PREFIX}/services/svc-099`).exec();
    await waitFor(async () => !(await vipKeys()).has(address), { timeoutMs: 10_000, what: `vips/${address} released` });
    await putRaw(suite.client, 'services/late', JSON.stringify({ name: 'late', vip: address, port: vipPort }));
    await waitFor(async () => (await vipKeys()).get(address) === 'late', { timeoutMs: 10_000, what: `late takes ${address}` });
  });

  it('asking for a taken address (or one outside the pool) is refused and reported', async () => {
    const [taken] = [...allocated].find(([, s]) => s === 'svc-000')!;
    await putRaw(suite.client, 'services/greedy', JSON.stringify({ name: 'greedy', vip: taken, port: vipPort }));
    await putRaw(suite.client, 'services/outsider', JSON.stringify({ name: 'outsider', vip: '10.9.9.9', port: vipPort }));
    const expected = `FABRIC_ERR_CONFLICT: VIP ${taken} refused: already held by service svc-000`;
    await waitFor(async () => (await conflictsOf(routerA, 'greedy')).includes(expected), { timeoutMs: 10_000, what: 'greedy refused' });
    expect(await conflictsOf(routerA, 'outsider')).toEqual([`FABRIC_ERR_CONFLICT: VIP 10.9.9.9 refused: outside the pool ${POOL}`]);
    const issues = (await routerA.status()).issues.map((i: any) => `${i.code} ${i.subject}`);
    expect(issues).toEqual(expect.arrayContaining(['FABRIC_ERR_CONFLICT services/greedy', 'FABRIC_ERR_CONFLICT services/outsider']));
    expect(await vipOf(routerA, 'greedy')).toBeNull();
    expect((await vipKeys()).get(taken)).toBe('svc-000');
    expect(await vipOf(routerA, 'svc-000')).toBe(`${taken}:${vipPort}`);
  });
});

describe('VIP requests that meet in one fabric apply', () => {
  it('an address one spec names goes to it, even when an auto spec of the same apply would probe to it first', async () => {
    // The address `aaa-auto` would take now: before the fix it took it first (names in order), and
    // `zzz-named` was refused its own address.
    const taken = new Map([...(await vipKeys())]);
    const wanted = freeAddress(VipPool.parse(POOL), taken, 'aaa-auto')!;
    const result = await apply([
      { kind: 'Service', name: 'aaa-auto', vip: 'auto', port: vipPort },
      { kind: 'Service', name: 'zzz-named', vip: wanted, port: vipPort },
    ]);
    expect(result, result.stderr).toMatchObject({ code: 0 });
    for (const router of [routerA, routerB]) {
      await waitFor(
        async () =>
          (await vipOf(router, 'aaa-auto')) !== null && ((await vipOf(router, 'zzz-named')) !== null || (await conflictsOf(router, 'zzz-named')).length > 0),
        {
          timeoutMs: 15_000,
          what: 'both services settled: a VIP each, or a conflict',
        },
      );
      expect(await conflictsOf(router, 'zzz-named')).toEqual([]);
      expect(await vipOf(router, 'zzz-named')).toBe(`${wanted}:${vipPort}`);
      expect(await vipOf(router, 'aaa-auto')).not.toBe(`${wanted}:${vipPort}`);
    }
    const keys = await vipKeys();
    expect(keys.get(wanted)).toBe('zzz-named');
    expect([...keys.values()].filter((s) => s === 'aaa-auto')).toHaveLength(1);
  });

  it('a TCP service with vip: auto and no port: fabric apply refuses it; written anyway, the router reports it and holds no address', async () => {
    const refused = await apply([{ kind: 'Service', name: 'rawtcp', mode: 'tcp', vip: 'auto' }]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/Service rawtcp.*port.*TCP service with a VIP/);
    expect((await suite.client.get(`${PREFIX}/services/rawtcp`).string()) ?? null).toBeNull();

    // Written around `fabric apply` (etcdctl, an older fabric), together with one that does get an address.
    const txn = suite.client.if(`${PREFIX}/services/rawtcp`, 'Create', '==', 0);
    txn.then(
      suite.client.put(`${PREFIX}/services/rawtcp`).value(JSON.stringify({ name: 'rawtcp', mode: 'tcp', vip: 'auto' })),
      suite.client.put(`${PREFIX}/services/marker-1`).value(JSON.stringify({ name: 'marker-1', vip: 'auto', port: vipPort })),
    );
    expect((await txn.commit()).succeeded).toBe(true);
    const expected = 'FABRIC_ERR_SPEC: a TCP service with a VIP needs a port';
    await waitFor(async () => [...(await vipKeys()).values()].includes('marker-1'), { timeoutMs: 10_000, what: 'marker-1 allocated' });
    // Allocations run one after another: once a later one is done, the one that had rawtcp in it is too.
    await putRaw(suite.client, 'services/marker-2', JSON.stringify({ name: 'marker-2', vip: 'auto', port: vipPort }));
    await waitFor(async () => [...(await vipKeys()).values()].includes('marker-2'), { timeoutMs: 10_000, what: 'marker-2 allocated' });
    for (const router of [routerA, routerB]) {
      await waitFor(async () => (await issuesOf(router, 'services/rawtcp')).includes(expected), { timeoutMs: 10_000, what: 'rawtcp reported' });
      expect(await vipOf(router, 'rawtcp')).toBeNull();
      expect(await conflictsOf(router, 'rawtcp')).toEqual([expected]);
    }
    expect([...(await vipKeys()).values()]).not.toContain('rawtcp');
  });
});
