// Issue 2, agent §8: the Docker event stream ends / Docker unreachable → reconnect with backoff and
// reconcile; etcd unreachable → keep running, retry, and register what changed meanwhile.
import { describe, expect, it } from 'vitest';
import { DockerProxy, EtcdView, runWeb, startAgent, testDocker, testEtcd, useAgentCleanup, waitFor } from './support.js';

useAgentCleanup();
const { docker } = testDocker();

describe('Docker event stream faults', () => {
  it('stream cut: keeps running, retries with backoff, reconciles on reconnect (removed meanwhile → gone, started meanwhile → registered)', async () => {
    const etcd = await testEtcd();
    const proxy = await DockerProxy.start();
    const doomed = await runWeb(docker, { labels: { 'fabric.service': 'cut' } });
    const survivor = await runWeb(docker, { labels: { 'fabric.service': 'cut' } });
    // A long resync interval: only the reconnect can bring Docker's changes to etcd.
    const agent = await startAgent(etcd, { docker: proxy.dockerHost, resyncInterval: '10m' });
    const view = new EtcdView(etcd);
    await view.waitForEndpoint(doomed.id);
    await view.waitForEndpoint(survivor.id);

    proxy.cut();
    const cutAt = Date.now();
    const notReady = await waitFor(
      async () => {
        const res = await agent.get('/readyz');
        return res.status === 503 ? res.json : undefined;
      },
      { timeoutMs: 5_000, what: '/readyz 503 while Docker is cut off' },
    );
    expect(notReady.reasons.join(' ')).toMatch(/Docker event stream is (backoff|connecting)/);
    expect((await agent.get('/healthz')).status).toBe(200);

    // Changes made behind the cut, through the engine's own socket.
    await doomed.remove();
    const newcomer = await runWeb(docker, { labels: { 'fabric.service': 'cut' } });

    // It keeps knocking, but with backoff (100 ms doubling, jittered), not in a hot loop.
    await waitFor(() => proxy.refused >= 4, { timeoutMs: 10_000, what: 'four reconnect attempts' });
    const elapsed = Date.now() - cutAt;
    expect(proxy.refused).toBeLessThanOrEqual(4 + Math.ceil(elapsed / 200));
    expect(agent.proc.isRunning()).toBe(true);
    // Nothing it cannot see is touched meanwhile.
    expect(await view.endpoint(doomed.id)).toBeDefined();
    expect(await view.endpoint(newcomer.id)).toBeUndefined();

    proxy.restore();
    await view.waitForNoEndpoint(doomed.id, { timeoutMs: 10_000 });
    await view.waitForEndpoint(newcomer.id, undefined, { timeoutMs: 10_000 });
    expect(await view.endpoint(survivor.id)).toMatchObject({ state: 'up' });
    await agent.waitReady({ timeoutMs: 10_000 });
    expect(agent.logs().filter((l) => l.msg === 'Docker event stream connected').length).toBeGreaterThanOrEqual(2);

    // And the new stream delivers events again.
    const later = await runWeb(docker, { labels: { 'fabric.service': 'cut' } });
    await view.waitForEndpoint(later.id, undefined, { timeoutMs: 5_000 });
  });

  it('an agent started while Docker is unreachable comes up when Docker does', async () => {
    const etcd = await testEtcd();
    const proxy = await DockerProxy.start();
    proxy.cut();
    const web = await runWeb(docker, { labels: { 'fabric.service': 'early' } });
    const agent = await startAgent(etcd, { docker: proxy.dockerHost, waitReady: false });
    await waitFor(() => proxy.refused >= 2, { what: 'connection attempts' });
    expect((await agent.get('/readyz')).status).toBe(503);
    proxy.restore();
    await agent.waitReady();
    await new EtcdView(etcd).waitForEndpoint(web.id);
  });
});

describe('etcd faults', () => {
  it('etcd down: keeps running, /readyz 503, and registers what changed meanwhile once etcd is back', async () => {
    const etcd = await testEtcd();
    const stays = await runWeb(docker, { labels: { 'fabric.service': 'outage' } });
    const goes = await runWeb(docker, { labels: { 'fabric.service': 'outage' } });
    const agent = await startAgent(etcd, { hostName: 'node-e' });
    const view = new EtcdView(etcd);
    await view.waitForEndpoint(stays.id);
    await view.waitForEndpoint(goes.id);

    await etcd.stop({ keepData: true });
    // Not ready soon after etcd goes, even with nothing to write (the lease keepalive fails).
    const notReady = await waitFor(
      async () => {
        const res = await agent.get('/readyz');
        return res.status === 503 ? res.json : undefined;
      },
      { timeoutMs: 5_000, what: '/readyz 503 while etcd is down' },
    );
    expect(notReady.reasons.join(' ')).toMatch(/etcd/);
    expect(agent.proc.isRunning()).toBe(true);
    expect((await agent.get('/healthz')).status).toBe(200);
    const status = await agent.status();
    expect(status.docker).toBe('connected');

    // Docker changes while etcd is away: the writes fail and are retried.
    const comes = await runWeb(docker, { labels: { 'fabric.service': 'outage' } });
    await goes.remove();
    await waitFor(async () => (await agent.status()).lastError?.message.match(/etcd/), { timeoutMs: 10_000, what: 'a failed write' });

    await etcd.start();
    await view.waitForEndpoint(comes.id, undefined, { timeoutMs: 15_000 });
    await view.waitForNoEndpoint(goes.id, { timeoutMs: 5_000 });
    expect(await view.endpoint(stays.id)).toMatchObject({ state: 'up' });
    await agent.waitReady({ timeoutMs: 15_000 });
    // Everything it holds sits on the lease it reports.
    const lease = await agent.leaseId();
    for (const key of await view.keys()) expect(key.lease).toBe(lease);
    expect((await view.keys()).map((k) => k.key)).toContain('hosts/node-e/info');
  });

  it('etcd down for longer than the TTL: new lease, everything re-registered within one TTL of its return, no key ever missing', async () => {
    const etcd = await testEtcd();
    await Promise.all([1, 2].map(() => runWeb(docker, { labels: { 'fabric.service': 'longout' } })));
    const agent = await startAgent(etcd, { hostName: 'node-x', ttl: '2s' });
    const view = new EtcdView(etcd);
    const oldLease = await agent.leaseId();
    const before = await view.keys();
    expect(before).toHaveLength(3);

    await etcd.stop({ keepData: true });
    // The client gives the lease up after 2×TTL without a keepalive.
    await waitFor(async () => (await agent.status()).lease.state !== 'granted', { timeoutMs: 15_000, what: 'lease given up' });
    // ...and keeps retrying, with backoff, long enough for the backoff to reach its ceiling.
    const errors = await agent.metric('fabric_agent_sync_errors_total');
    await waitFor(async () => (await agent.metric('fabric_agent_sync_errors_total')) >= errors + 8, {
      timeoutMs: 30_000,
      what: 'eight more failed attempts',
    });
    expect(agent.proc.isRunning()).toBe(true);

    await etcd.start();
    const returnedAt = Date.now();
    // etcd extends every lease when it comes back, so the old keys are still there...
    const after = await waitFor(
      async () => {
        const now = await view.keys();
        return now.length === 3 && now.every((k) => k.lease !== oldLease) ? now : undefined;
      },
      { timeoutMs: 10_000, what: 'keys on a new lease' },
    );
    // ...and the agent moves them to its new lease within one TTL, before the old lease expires.
    expect(Date.now() - returnedAt).toBeLessThanOrEqual(2_000);
    expect(after.map((k) => k.key)).toEqual(before.map((k) => k.key));
    // Same create revision: no key was deleted and written again (no gap for the routers).
    expect(after.map((k) => k.createRevision)).toEqual(before.map((k) => k.createRevision));
    expect(new Set(after.map((k) => k.lease)).size).toBe(1);
    await agent.waitReady({ timeoutMs: 5_000 });
    expect(await agent.leaseId()).toBe(after[0]!.lease);
  });

  it('an agent started while etcd is down registers everything when etcd comes up', async () => {
    const etcd = await testEtcd();
    await etcd.stop({ keepData: true });
    const web = await runWeb(docker, { labels: { 'fabric.service': 'early' } });
    const agent = await startAgent(etcd, { hostName: 'node-late', waitReady: false });
    await waitFor(async () => (await agent.status()).lastError !== undefined, { timeoutMs: 15_000, what: 'a failed sync' });
    expect((await agent.get('/readyz')).status).toBe(503);
    await etcd.start();
    await agent.waitReady({ timeoutMs: 15_000 });
    const view = new EtcdView(etcd);
    await view.waitForEndpoint(web.id);
    expect(await view.host('node-late')).toBeDefined();
  });
});
