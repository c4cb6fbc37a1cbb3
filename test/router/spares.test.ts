// Spare backends (lb/haproxy/spares.ts): new and removed services change HAProxy through the
// Runtime API (servers by `set server`, hosts by the host map) with no reload; a refilled spare
// never serves its old service's servers or hosts; the reload when the pool runs out loads exactly
// what ran; a router restarted on the same HAProxy adopts the assignments.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseShowMap } from '../../lb/haproxy/runtime-state.js';
import { haproxyCommand } from '../../lb/haproxy/socket.js';
import {
  bodies,
  deleteEndpoint,
  type EndpointJson,
  endpoint,
  etcdClient,
  haproxyMasters,
  putEndpoint,
  type RunningRouter,
  restartRouter,
  serversState,
  startEtcdFor,
  startRouter,
  startWebServers,
  takesTraffic,
  useResources,
  type WebServer,
  waitFor,
} from './support.js';

const { file, perTest } = useResources();
let servers: WebServer[];

beforeAll(async () => {
  servers = await startWebServers(file, ['w0', 'w1', 'w2', 'w3']);
});

async function routerWith(haproxy: Record<string, unknown> = {}, lbOnExit: 'keep' | 'stop' = 'stop') {
  const etcd = await startEtcdFor(perTest);
  let dest: string | undefined;
  // A kept HAProxy outlives its router: stop it by pid once every router is stopped.
  perTest.defer(() => {
    for (const pid of dest ? haproxyMasters(dest) : []) process.kill(pid, 'SIGKILL');
  });
  const router = await startRouter(perTest, etcd, { haproxy, lbOnExit });
  dest = router.dest;
  return { etcd, router, writer: etcdClient(perTest, etcd) };
}

async function reloads(router: RunningRouter): Promise<{ master: number; counter: number }> {
  return { master: (await router.showProc()).reloads, counter: (await router.target()).counters.reloads };
}

/** host → backend, as HAProxy's host map holds it now. */
async function hostMap(router: RunningRouter): Promise<Map<string, string>> {
  const text = await haproxyCommand(path.join(router.dir, 'run/admin.sock'), `show map ${path.join(router.dir, 'hosts.map')}`, 2_000);
  return new Map(parseShowMap(text));
}

/** What HAProxy serves, by host: the `address:port weight` of each server that takes traffic, whatever its backend is called. */
async function servedByHost(router: RunningRouter): Promise<Record<string, string[]>> {
  const state = await serversState(router.dir);
  const out: Record<string, string[]> = {};
  for (const [host, backend] of await hostMap(router)) {
    out[host] = state
      .filter((s) => s.backend === backend && takesTraffic(s))
      .map((s) => `${s.address}:${s.port} w${s.weight}`)
      .sort();
  }
  return out;
}

async function putAll(router: RunningRouter, writer: ReturnType<typeof etcdClient>, endpoints: EndpointJson[]): Promise<void> {
  let revision = 0;
  for (const e of endpoints) revision = await putEndpoint(writer, e);
  await router.waitApplied(revision);
}

async function deleteAll(router: RunningRouter, writer: ReturnType<typeof etcdClient>, endpoints: EndpointJson[]): Promise<number> {
  let revision = 0;
  for (const e of endpoints) revision = await deleteEndpoint(writer, e);
  await router.waitApplied(revision);
  return revision;
}

/** Service i on web server i % 4. */
function services(count: number, prefix = 'svc'): EndpointJson[] {
  return Array.from({ length: count }, (_, i) => endpoint({ service: `${prefix}${i}`, port: servers[i % servers.length]!.port }));
}

async function expectServed(router: RunningRouter, endpoints: EndpointJson[]): Promise<void> {
  for (const e of endpoints) {
    expect(await bodies(router, `${e.service}.apps.test`, 1), e.service).toEqual([servers.find((s) => s.port === e.port)!.body]);
  }
}

describe('spare backends', () => {
  it('100 services added, removed and added again: 0 reloads, each served while it exists, 404 once gone', async () => {
    const { router, writer } = await routerWith();
    await putAll(router, writer, [endpoint({ service: 'web', port: servers[0]!.port })]);
    const before = await reloads(router);
    const hundred = services(100);
    await putAll(router, writer, hundred);
    await expectServed(router, hundred);
    expect(await reloads(router)).toEqual(before);

    await deleteAll(router, writer, hundred);
    for (const e of hundred) expect((await router.request(`${e.service}.apps.test`)).status, e.service).toBe(404);
    expect([...(await hostMap(router)).keys()]).toEqual(['web.apps.test']);

    const again = services(100);
    await putAll(router, writer, again);
    await expectServed(router, again);
    expect(await bodies(router, 'web.apps.test', 2)).toEqual(['w0', 'w0']);
    expect(await reloads(router)).toEqual(before);
    expect((await router.target()).lastApply.action).toBe('runtime');
  });

  it('a spare refilled by another service serves only the new one: the old host 404s, no old server is left in it', async () => {
    const { router, writer } = await routerWith();
    await putAll(router, writer, [endpoint({ service: 'web', port: servers[0]!.port })]);
    const before = await reloads(router);
    const old = [endpoint({ service: 'old', port: servers[1]!.port }), endpoint({ service: 'old', port: servers[2]!.port })];
    await putAll(router, writer, old);
    const spare = (await hostMap(router)).get('old.apps.test')!;
    expect(spare).toMatch(/^spare_http_roundrobin_\d+$/);
    expect((await bodies(router, 'old.apps.test', 8)).sort()).toEqual(['w1', 'w1', 'w1', 'w1', 'w2', 'w2', 'w2', 'w2']);

    await deleteAll(router, writer, old);
    const fresh = endpoint({ service: 'fresh', port: servers[3]!.port });
    await putAll(router, writer, [fresh]);
    expect((await hostMap(router)).get('fresh.apps.test')).toBe(spare); // the same backend, taken again
    expect((await router.request('old.apps.test')).status).toBe(404);
    expect(await bodies(router, 'fresh.apps.test', 20)).toEqual(Array(20).fill('w3'));
    const state = await serversState(router.dir, spare);
    expect(state.filter(takesTraffic).map((s) => s.port)).toEqual([servers[3]!.port]);
    // The emptied slots hold nothing of the old service's: the empty slot's address, in maintenance.
    for (const s of state.filter((x) => !takesTraffic(x))) expect(`${s.address}:${s.port}`).toBe('127.0.0.1:1');
    expect(await reloads(router)).toEqual(before);
    // The file written behind the runtime update names the service the spare serves.
    await waitFor(() => router.config().includes('# service fresh (a spare backend'), { what: 'the config file in step' });
  });

  it('when the pool runs out, one reload loads exactly what ran, every service in its own svc_ backend again', async () => {
    // web takes one spare, svc0 and svc1 the other two; svc2 finds none.
    const { router, writer } = await routerWith({ spares: 3 });
    await putAll(router, writer, [endpoint({ service: 'web', port: servers[0]!.port })]);
    const before = await reloads(router);
    const two = services(2);
    await putAll(router, writer, two);
    expect(await reloads(router)).toEqual(before);
    const ran = await servedByHost(router);
    expect([...(await hostMap(router)).values()].filter((b) => b.startsWith('spare_'))).toHaveLength(3);

    const third = endpoint({ service: 'svc2', port: servers[2]!.port });
    await putAll(router, writer, [third]);
    const after = await reloads(router);
    expect(after.master - before.master).toBe(1);
    expect(after.counter - before.counter).toBe(1);
    const loaded = await servedByHost(router);
    expect({ ...loaded, 'svc2.apps.test': undefined }).toEqual({ ...ran, 'svc2.apps.test': undefined });
    expect(loaded['svc2.apps.test']).toEqual([`127.0.0.1:${servers[2]!.port} w100`]);
    expect(Object.fromEntries(await hostMap(router))).toEqual({
      'svc0.apps.test': 'svc_svc0',
      'svc1.apps.test': 'svc_svc1',
      'svc2.apps.test': 'svc_svc2',
      'web.apps.test': 'svc_web',
    });
    await expectServed(router, [...two, third]);
    // The reserve doubled: six free spares, so four more services fit with no reload.
    const more = services(4, 'more');
    await putAll(router, writer, more);
    await expectServed(router, more);
    expect(await reloads(router)).toEqual(after);
  });

  it('a router restarted on the HAProxy it left serving adopts the spares it filled: no reload, nothing served by the wrong service', async () => {
    const { etcd, router, writer } = await routerWith({}, 'keep');
    await putAll(router, writer, [endpoint({ service: 'web', port: servers[0]!.port })]);
    const eight = services(8);
    await putAll(router, writer, eight);
    const revision = await deleteAll(router, writer, eight.slice(0, 3));
    const before = await router.showProc();
    const ran = await servedByHost(router);
    const backends = await hostMap(router);
    await router.proc.kill9();

    const next = await restartRouter(perTest, router, etcd);
    await next.waitApplied(revision);
    expect(next.proc.output()).toMatch(/adopted the running haproxy/);
    expect((await next.showProc()).reloads).toBe(before.reloads);
    expect(await servedByHost(next)).toEqual(ran);
    expect(await hostMap(next)).toEqual(backends);

    const late = services(4, 'late');
    await putAll(next, writer, late);
    await expectServed(next, late);
    await expectServed(next, eight.slice(3));
    for (const e of eight.slice(0, 3)) expect((await next.request(`${e.service}.apps.test`)).status).toBe(404);
    expect((await next.showProc()).reloads).toBe(before.reloads);
    expect(haproxyMasters(router.dest)).toEqual([before.masterPid]);
  });
});
