// The router owns its HAProxy across its own restarts and crashes: a new router adopts the
// HAProxy an earlier one left serving (never a second one on its ports), a port another process
// holds is an error, and HAProxy's own reloads keep passing listeners under load.
import { beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../harness/index.js';
import {
  bodies,
  type EndpointJson,
  endpoint,
  etcdClient,
  haproxyMasters,
  putEndpoint,
  restartRouter,
  startEtcdFor,
  startRouter,
  startWebServers,
  trafficDuring,
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

/** One router (handing its HAProxy over on exit) serving `web` from w0 and w1. */
async function servingRouter(haproxy?: Record<string, unknown>) {
  const etcd = await startEtcdFor(perTest);
  // A kept HAProxy outlives its router: whatever the test did, stop it by pid once every router is
  // stopped (deferred first so it runs last: a live router would start HAProxy again).
  let dest: string | undefined;
  perTest.defer(() => {
    for (const pid of dest ? haproxyMasters(dest) : []) process.kill(pid, 'SIGKILL');
  });
  const router = await startRouter(perTest, etcd, { lbOnExit: 'keep', ...(haproxy ? { haproxy } : {}) });
  dest = router.dest;
  const writer = etcdClient(perTest, etcd);
  const web: EndpointJson[] = [endpoint({ service: 'web', port: servers[0]!.port }), endpoint({ service: 'web', port: servers[1]!.port })];
  let revision = 0;
  for (const e of web) revision = await putEndpoint(writer, e);
  await router.waitApplied(revision);
  await waitServed(router, 'web.apps.test', ['w0', 'w1']);
  return { etcd, router, writer, web };
}

describe('a router restarted on the same config', () => {
  it('after SIGKILL: adopts the HAProxy left serving, with no reload, and serves a service added afterwards 40/40', async () => {
    const { etcd, router, writer } = await servingRouter();
    const before = await router.showProc();
    await router.proc.kill9();
    // The data plane does not fall with the control plane.
    expect(await bodies(router, 'web.apps.test', 4)).toEqual(expect.arrayContaining(['w0', 'w1']));

    const next = await restartRouter(perTest, router, etcd);
    const after = await next.showProc();
    expect(after.masterPid).toBe(before.masterPid);
    expect(after.reloads).toBe(before.reloads); // converged through the Runtime API: nothing to reload
    expect(haproxyMasters(router.dest)).toEqual([before.masterPid]);
    expect(next.proc.output()).toMatch(/adopted the running haproxy/);

    const late = endpoint({ service: 'late', port: servers[2]!.port });
    await next.waitApplied(await putEndpoint(writer, late));
    const answers = await bodies(next, 'late.apps.test', 40);
    expect(answers.filter((b) => b === 'w2')).toHaveLength(40);
    expect(haproxyMasters(router.dest)).toEqual([before.masterPid]);
  });

  it('applies a change made while no router ran at run time, once adopted', async () => {
    const { etcd, router, writer, web } = await servingRouter();
    const before = await router.showProc();
    await router.proc.kill9();
    const moved = { ...web[1]!, port: servers[3]!.port };
    const revision = await putEndpoint(writer, moved);

    const next = await restartRouter(perTest, router, etcd);
    await next.waitApplied(revision);
    await waitServed(next, 'web.apps.test', ['w0', 'w3']);
    const after = await next.showProc();
    expect(after.masterPid).toBe(before.masterPid);
    expect(after.reloads).toBe(before.reloads);
    expect((await next.target()).lastApply.action).toBe('runtime');
  });

  it('after SIGTERM (lb-on-exit keep): loses no request through the restart', async () => {
    const { etcd, router, writer } = await servingRouter();
    const master = (await router.showProc()).masterPid;
    const report = await trafficDuring(
      (opts) => router.request('web.apps.test', '/', opts),
      4_000,
      async () => {
        const exit = await router.proc.stop('SIGTERM', 15_000);
        expect(exit.code).toBe(0);
        const next = await restartRouter(perTest, router, etcd);
        const added = endpoint({ service: 'web', port: servers[2]!.port });
        await next.waitApplied(await putEndpoint(writer, added));
        return next;
      },
    );
    expect(report.failures).toEqual([]);
    expect(report.total).toBeGreaterThan(50);
    await waitServed(report.result, 'web.apps.test', ['w0', 'w1', 'w2']);
    expect(haproxyMasters(router.dest)).toEqual([master]);
  });

  it('with --lb-on-exit stop: HAProxy stops with the router', async () => {
    const etcd = await startEtcdFor(perTest);
    const router = await startRouter(perTest, etcd, { lbOnExit: 'stop' });
    const { masterPid } = await router.showProc();
    await router.proc.stop('SIGTERM', 15_000);
    await waitFor(() => !isAlive(masterPid), { what: 'HAProxy to stop with its router' });
    expect(haproxyMasters(router.dest)).toEqual([]);
  });

  it('stops an HAProxy of its config that cannot be driven, says so, and starts afresh', async () => {
    const { etcd, router } = await servingRouter();
    const stale = await router.showProc();
    await router.proc.kill9();
    process.kill(stale.masterPid, 'SIGSTOP'); // alive, but its master CLI never answers
    perTest.defer(() => {
      if (isAlive(stale.masterPid)) process.kill(stale.masterPid, 'SIGKILL');
    });

    const next = await restartRouter(perTest, router, etcd);
    expect(next.proc.output()).toMatch(/cannot be driven; stopping it/);
    const fresh = await next.showProc();
    expect(fresh.masterPid).not.toBe(stale.masterPid);
    expect(isAlive(stale.masterPid)).toBe(false);
    expect(haproxyMasters(router.dest)).toEqual([fresh.masterPid]);
    await waitServed(next, 'web.apps.test', ['w0', 'w1']);
  });
});

describe('two routers on one HTTP port', () => {
  it('the second reports FABRIC_ERR_PORT_IN_USE and is not ready; the first keeps all the traffic', async () => {
    const { etcd, router } = await servingRouter();
    const second = await startRouter(perTest, etcd, { httpPort: router.httpPort, waitReady: false });
    const failed = await waitFor(
      async () => {
        const target = await second.target();
        return target?.lastError?.code === 'FABRIC_ERR_PORT_IN_USE' ? target.lastError : undefined;
      },
      { timeoutMs: 15_000, what: 'the second router to report the port in use' },
    );
    expect(failed.message).toContain(`127.0.0.1:${router.httpPort}`);
    expect(failed.message).toMatch(/held by pid \d+/);
    expect((await second.get('/readyz')).status).toBe(503);
    const answers = await bodies(router, 'web.apps.test', 20);
    expect(answers.every((b) => b === 'w0' || b === 'w1')).toBe(true);
    expect((await router.get('/readyz')).status).toBe(200);
  });
});

describe("HAProxy's own reloads", () => {
  it('refuse no connection over 20 reloads under load (noreuseport: listeners pass to the new workers)', async () => {
    // Spare backends off: each new service is a new backend, so a reload.
    const { router, writer } = await servingRouter({ spares: 0 });
    const before = await router.showProc();
    const report = await trafficDuring(
      (opts) => router.request('web.apps.test', '/', opts),
      20_000,
      async () => {
        // Each new service is a new backend: a reload.
        for (let i = 0; i < 20; i++) await router.waitApplied(await putEndpoint(writer, endpoint({ service: `extra${i}`, port: servers[2]!.port })));
      },
    );
    const after = await router.showProc();
    expect(after.reloads - before.reloads).toBeGreaterThanOrEqual(20);
    expect(after.failedReloads).toBe(before.failedReloads);
    expect(report.failures).toEqual([]);
    expect(report.total).toBeGreaterThan(200);
  });
});
