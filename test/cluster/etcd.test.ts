// etcd faults in a cluster of three members, two hosts and two routers, with a bounded request
// loop on every router the whole time: 0 failed requests, and changes made during the fault served
// by every router within the bound.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WebContainer, waitFor } from '../harness/index.js';
import { Resources } from '../router/support.js';
import { DOMAIN, describeFailures, startWebCluster, type TestCluster, Traffic } from './support.js';

const res = new Resources();
let cluster: TestCluster;
let web: WebContainer[];

beforeAll(async () => {
  ({ cluster, web } = await startWebCluster(res));
}, 180_000);

afterAll(() => res.release(), 120_000);

describe('etcd leader SIGKILLed', () => {
  it('loses no request, and a container started meanwhile is served by every router within 3 s', async () => {
    const traffic = new Traffic(() => cluster.routers, `web.${DOMAIN}`, { maxRequests: 20_000 });
    const leader = await cluster.etcd.leader();
    const since = Date.now();
    await leader.kill9();
    try {
      const added = await cluster.hosts[1]!.run('web');
      const started = Date.now();
      await cluster.waitServedEverywhere('web', [...web.map((c) => c.name), added.name], 10_000);
      const servedMs = Date.now() - started;
      web.push(added);
      await cluster.etcd.waitLeader();
      const report = await traffic.stop();
      console.log(`leader ${leader.name} SIGKILLed: new container served by every router after ${servedMs} ms; ${report.total} requests`);
      expect(describeFailures(report.failures, since)).toEqual([]);
      expect(servedMs).toBeLessThanOrEqual(3_000);
    } finally {
      await traffic.stop();
      await leader.start();
    }
  }, 60_000);

  it('fails over to the remaining members again and again (each member killed once)', async () => {
    const traffic = new Traffic(() => cluster.routers, `web.${DOMAIN}`, { maxRequests: 40_000 });
    const since = Date.now();
    for (const member of cluster.etcd.members) {
      await member.kill9();
      try {
        const added = await cluster.hosts[0]!.run('web');
        await cluster.waitServedEverywhere('web', [...web.map((c) => c.name), added.name], 10_000);
        web.push(added);
      } finally {
        await member.start();
      }
      await cluster.etcd.waitLeader();
    }
    const report = await traffic.stop();
    expect(describeFailures(report.failures, since)).toEqual([]);
    await waitFor(async () => (await Promise.all(cluster.routers.map((r) => r.isReady()))).every(Boolean), { what: 'every router ready' });
  }, 120_000);
});

describe('every etcd member down for 8 s', () => {
  it('loses no request, and a container started meanwhile is served by every router within 5 s of etcd being back', async () => {
    const traffic = new Traffic(() => cluster.routers, `web.${DOMAIN}`, { maxRequests: 40_000 });
    const since = Date.now();
    await Promise.all(cluster.etcd.members.map((m) => m.kill9()));
    let back = 0;
    try {
      const added = await cluster.hosts[0]!.run('web');
      web.push(added);
      await waitFor(() => Date.now() - since > 8_000, { timeoutMs: 10_000, intervalMs: 200, what: 'the outage to last 8 s' });
      // Together: a member is healthy only once a quorum is back and has a leader.
      await Promise.all(cluster.etcd.members.map((m) => m.start()));
      back = Date.now();
      await cluster.waitServedEverywhere(
        'web',
        web.map((c) => c.name),
        15_000,
      );
    } finally {
      await Promise.all(cluster.etcd.members.filter((m) => !m.isRunning()).map((m) => m.start()));
    }
    const servedMs = Date.now() - back;
    const report = await traffic.stop();
    console.log(`etcd down 8 s: the container started meanwhile served by every router ${servedMs} ms after etcd was back; ${report.total} requests`);
    expect(describeFailures(report.failures, since)).toEqual([]);
    expect(servedMs).toBeLessThanOrEqual(5_000);
    await waitFor(async () => (await Promise.all(cluster.routers.map((r) => r.isReady()))).every(Boolean), { what: 'every router ready again' });
  }, 90_000);
});
