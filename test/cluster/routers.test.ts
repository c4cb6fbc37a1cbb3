// Routers restarted under a cluster of three etcd members and two hosts, with a bounded request
// loop on every router: the data plane never falls with the control plane.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebContainer } from '../harness/index.js';
import { bodies, haproxyMasters, Resources } from '../router/support.js';
import { DOMAIN, describeFailures, startWebCluster, type TestCluster, Traffic } from './support.js';

const res = new Resources();
let cluster: TestCluster;
let web: WebContainer[];

beforeAll(async () => {
  ({ cluster, web } = await startWebCluster(res));
}, 180_000);

afterAll(() => res.release(), 120_000);

describe('a router restarted with SIGTERM (systemctl restart, an upgrade)', () => {
  it('loses no request: the next router adopts the HAProxy it left serving', async () => {
    const traffic = new Traffic(() => cluster.routers, `web.${DOMAIN}`, { maxRequests: 20_000 });
    const since = Date.now();
    const router = cluster.routers[0]!;
    const master = (await router.showProc()).masterPid;
    expect((await router.proc.stop('SIGTERM', 15_000)).code).toBe(0);
    const next = await cluster.restartRouter(0);
    expect((await next.showProc()).masterPid).toBe(master);
    // A change after the restart reaches both routers.
    const added = await cluster.hosts[0]!.run('web');
    web.push(added);
    await cluster.waitServedEverywhere(
      'web',
      web.map((c) => c.name),
    );
    const report = await traffic.stop();
    console.log(`router SIGTERM restart: ${report.total} requests`);
    expect(describeFailures(report.failures, since)).toEqual([]);
  }, 60_000);
});

describe('a router SIGKILLed, then started again', () => {
  it('is adopted (one master per config) and a service added afterwards is served 40/40 through it', async () => {
    const traffic = new Traffic(() => cluster.routers, `web.${DOMAIN}`, { maxRequests: 20_000 });
    const since = Date.now();
    const router = cluster.routers[1]!;
    const master = (await router.showProc()).masterPid;
    await router.proc.kill9();
    const next = await cluster.restartRouter(1);
    expect((await next.showProc()).masterPid).toBe(master);
    expect(haproxyMasters(next.dest)).toEqual([master]);
    const late = await cluster.hosts[1]!.run('late');
    await cluster.waitServedEverywhere('late', [late.name]);
    expect(await bodies(next, `late.${DOMAIN}`, 40)).toEqual(Array(40).fill(late.name));
    expect(haproxyMasters(next.dest)).toEqual([master]);
    const report = await traffic.stop();
    expect(describeFailures(report.failures, since)).toEqual([]);
  }, 60_000);
});
