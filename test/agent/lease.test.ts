// Issue 2, agent §4 (one lease for all keys; SIGKILL → keys gone within the TTL) and the shutdown
// half of §8 (SIGTERM revokes; --keep-lease lets the TTL run out; an expired lease is replaced).
import { describe, expect, it } from 'vitest';
import { EtcdView, leaseHex, runWeb, startAgent, testDocker, testEtcd, useAgentCleanup, waitFor } from './support.js';

useAgentCleanup();
const { docker } = testDocker();

async function twoWebs() {
  return Promise.all([runWeb(docker, { labels: { 'fabric.service': 'alpha' } }), runWeb(docker, { labels: { 'fabric.service': 'beta' } })]);
}

describe('the agent lease', () => {
  it('carries every endpoint key and the host key', async () => {
    const etcd = await testEtcd();
    const webs = await twoWebs();
    const agent = await startAgent(etcd, { hostName: 'node-l' });
    const view = new EtcdView(etcd);
    const lease = await agent.leaseId();
    const keys = await view.keys();
    expect(keys.map((k) => k.key).sort()).toEqual(
      [`hosts/node-l/endpoints/alpha/${webs[0].id}`, `hosts/node-l/endpoints/beta/${webs[1].id}`, 'hosts/node-l/info'].sort(),
    );
    for (const key of keys) expect(key.lease).toBe(lease);
    // etcd agrees: the lease lists exactly these keys.
    const info = await etcd.etcdctl(['lease', 'timetolive', leaseHex(lease), '--keys']);
    for (const key of keys) expect(info).toContain(`/fabric/${key.key}`);
    expect(info).toMatch(/granted with TTL\(15s\)/);
  });

  it('SIGKILL: the keys outlive the agent for a moment, then vanish within the TTL', async () => {
    const etcd = await testEtcd();
    await twoWebs();
    const agent = await startAgent(etcd, { ttl: '2s', hostName: 'node-k9' });
    const view = new EtcdView(etcd);
    expect(await view.keys()).toHaveLength(3);

    await agent.kill9();
    const killedAt = Date.now();
    expect(await view.keys()).toHaveLength(3); // a crash does not delete anything by itself
    await waitFor(async () => (await view.keys()).length === 0, { timeoutMs: 2 * 2_000 + 2_000, what: 'keys expired' });
    // Within 2×TTL + margin (etcd checks expiry every 500 ms), never faster than no time at all.
    expect(Date.now() - killedAt).toBeLessThan(6_000);
  });

  it('SIGTERM revokes the lease: every key is gone by the time the agent exits', async () => {
    const etcd = await testEtcd();
    await twoWebs();
    const agent = await startAgent(etcd, { hostName: 'node-t' });
    const view = new EtcdView(etcd);
    const lease = await agent.leaseId();
    expect(await view.keys()).toHaveLength(3);

    expect(await agent.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await view.keys()).toEqual([]);
    expect(await etcd.etcdctl(['lease', 'list'])).not.toContain(leaseHex(lease));
    expect(agent.logs().some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('SIGTERM with --keep-lease leaves the keys to expire with the TTL', async () => {
    const etcd = await testEtcd();
    await twoWebs();
    // TTL 3 s: the keys must still be there when the exit has been noticed, even on a busy machine.
    const agent = await startAgent(etcd, { hostName: 'node-kl', ttl: '3s', keepLease: true });
    const view = new EtcdView(etcd);
    expect(await view.keys()).toHaveLength(3);

    expect(await agent.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const stoppedAt = Date.now();
    expect(await view.keys()).toHaveLength(3);
    await waitFor(async () => (await view.keys()).length === 0, { timeoutMs: 3_000 + 3_000, what: 'keys expired' });
    expect(Date.now() - stoppedAt).toBeLessThan(6_000);
  });

  it('restarted with --keep-lease: keeps the lease the agent before it left, and writes nothing', async () => {
    const etcd = await testEtcd();
    await twoWebs();
    const first = await startAgent(etcd, { hostName: 'node-kk', ttl: '5s', keepLease: true });
    const view = new EtcdView(etcd);
    const lease = await first.leaseId();
    const before = await view.keys();
    expect(before).toHaveLength(3);
    const revision = async () => Number((await etcd.etcdctl(['endpoint', 'status', '-w', 'json'])).match(/"revision":(\d+)/)?.[1]);
    expect(await first.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const stoppedAt = Date.now();
    const revisionBefore = await revision();

    const second = await startAgent(etcd, { hostName: 'node-kk', ttl: '5s', keepLease: true });
    expect(await second.leaseId()).toBe(lease);
    await waitFor(async () => (await second.status()).lastSync !== undefined, { what: 'the new agent synced' });
    expect(await revision()).toBe(revisionBefore); // not one write
    expect(await view.keys()).toEqual(before);
    expect(second.logs().some((l) => l.msg === 'kept the lease of the previous agent')).toBe(true);
    // And keeps it alive: one TTL after the first agent stopped, the keys are still there, on that lease.
    await waitFor(() => Date.now() - stoppedAt > 6_000, { timeoutMs: 8_000, intervalMs: 250, what: 'one TTL past the first agent' });
    expect(await view.keys()).toEqual(before);
  });

  it('a lease revoked behind its back: new lease, everything re-registered within one TTL', async () => {
    const etcd = await testEtcd();
    const webs = await twoWebs();
    const agent = await startAgent(etcd, { hostName: 'node-rv', ttl: '3s' });
    const view = new EtcdView(etcd);
    const oldLease = await agent.leaseId();
    const before = (await view.keys()).map((k) => k.key);
    expect(before).toHaveLength(3);

    await etcd.etcdctl(['lease', 'revoke', leaseHex(oldLease)]);
    const revokedAt = Date.now();
    expect(await view.keys()).toEqual([]);

    const keys = await waitFor(
      async () => {
        const now = await view.keys();
        return now.length === 3 && now.every((k) => k.lease !== oldLease) ? now : undefined;
      },
      { timeoutMs: 3_000, what: 'keys back on a new lease within one TTL (3 s)' },
    );
    expect(Date.now() - revokedAt).toBeLessThanOrEqual(3_000);
    expect(keys.map((k) => k.key)).toEqual(before);
    const newLease = keys[0]!.lease;
    expect(new Set(keys.map((k) => k.lease))).toEqual(new Set([newLease]));
    await waitFor(async () => (await agent.status()).lease?.id === newLease, { what: '/v1/status shows the new lease' });
    for (const web of webs) expect(await view.endpoint(web.id)).toMatchObject({ state: 'up' });
    await agent.waitReady({ timeoutMs: 3_000 });
  });
});
