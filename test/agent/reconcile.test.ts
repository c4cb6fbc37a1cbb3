// Issue 2, agent §3: reconcile writes only the difference; a resync that finds nothing writes nothing.
import { describe, expect, it } from 'vitest';
import { EtcdView, type RunningAgent, runWeb, startAgent, testDocker, testEtcd, useAgentCleanup, waitFor } from './support.js';

useAgentCleanup();
const { docker } = testDocker();

/** Waits until the agent has finished `n` more full resyncs than it had at the call. */
async function resyncs(agent: RunningAgent, n: number): Promise<number> {
  const start = await agent.metric('fabric_agent_resyncs_total');
  return waitFor(
    async () => {
      const now = await agent.metric('fabric_agent_resyncs_total');
      return now >= start + n ? now : undefined;
    },
    { timeoutMs: 5_000 + n * 3_000, what: `${n} more resyncs (from ${start})` },
  );
}

describe('periodic resync', () => {
  it('finds nothing changed and writes nothing: etcd revision and write counters stay put', async () => {
    const etcd = await testEtcd();
    const webs = await Promise.all([1, 2, 3].map(() => runWeb(docker, { labels: { 'fabric.service': 'steady' } })));
    const agent = await startAgent(etcd, { resyncInterval: '1s', hostName: 'node-r' });
    const view = new EtcdView(etcd);
    for (const web of webs) await view.waitForEndpoint(web.id);
    // Let the startup settle (the event stream's connect asks for one more full sync).
    await resyncs(agent, 1);

    const revision = await view.revision();
    const puts = await agent.metric('fabric_agent_etcd_writes_total', { op: 'put' });
    const deletes = await agent.metric('fabric_agent_etcd_writes_total', { op: 'delete' });
    const txns = await agent.metric('fabric_agent_etcd_txns_total');

    await resyncs(agent, 2);

    expect(await view.revision()).toBe(revision);
    expect(await agent.metric('fabric_agent_etcd_writes_total', { op: 'put' })).toBe(puts);
    expect(await agent.metric('fabric_agent_etcd_writes_total', { op: 'delete' })).toBe(deletes);
    expect(await agent.metric('fabric_agent_etcd_txns_total')).toBe(txns);
    expect((await view.keys()).length).toBe(4); // three endpoints and the host
  });

  it('restores an endpoint key deleted behind its back at the next resync, and only that key', async () => {
    const etcd = await testEtcd();
    const web = await runWeb(docker, { labels: { 'fabric.service': 'restored' } });
    const other = await runWeb(docker, { labels: { 'fabric.service': 'restored' } });
    const agent = await startAgent(etcd, { resyncInterval: '1s', hostName: 'node-d' });
    const view = new EtcdView(etcd);
    const original = await view.waitForEndpoint(web.id);
    const untouched = await view.waitForEndpoint(other.id);
    const lease = await agent.leaseId();

    await etcd.etcdctl(['del', `/fabric/${original.key}`]);
    expect(await view.endpoint(web.id)).toBeUndefined();
    const restored = await view.waitForEndpoint(web.id, undefined, { timeoutMs: 5_000 });

    const { modRevision: _a, ...restoredJson } = restored;
    const { modRevision: _b, ...originalJson } = original;
    expect(restoredJson).toEqual(originalJson);
    expect(restored.lease).toBe(lease);
    expect((await view.endpoint(other.id))!.modRevision).toBe(untouched.modRevision);
  });

  it('restores its host key deleted behind its back', async () => {
    const etcd = await testEtcd();
    await startAgent(etcd, { resyncInterval: '1s', hostName: 'node-k' });
    const view = new EtcdView(etcd);
    await etcd.etcdctl(['del', '/fabric/hosts/node-k/info']);
    await waitFor(() => view.host('node-k'), { timeoutMs: 5_000, what: 'hosts/node-k/info restored' });
  });

  it('removes a stale endpoint of its own host left in etcd (e.g. by a previous run), and leaves other hosts alone', async () => {
    const etcd = await testEtcd();
    const view = new EtcdView(etcd);
    const ghost = `endpoints/web/node-s/${'a'.repeat(64)}`;
    const foreign = `endpoints/web/node-other/${'b'.repeat(64)}`;
    await etcd.etcdctl(['put', `/fabric/${ghost}`, '{}']);
    await etcd.etcdctl(['put', `/fabric/${foreign}`, '{}']);
    await startAgent(etcd, { hostName: 'node-s' });
    expect(await view.get(ghost)).toBeUndefined();
    expect(await view.get(foreign)).toMatchObject({ value: '{}' });
  });
});
