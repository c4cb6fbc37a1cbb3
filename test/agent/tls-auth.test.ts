// Issue 2, agent §10: TLS with client certificates and user/password authentication to etcd.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { enableAuth, makeTls, type TlsMaterial } from '../harness/index.js';
import { EtcdView, runWeb, startAgent, testDocker, testEtcd, useAgentCleanup, waitFor } from './support.js';

useAgentCleanup();
const { docker } = testDocker();

let tls: TlsMaterial;
const pki = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-agent-pki-'));
beforeAll(async () => {
  tls = await makeTls(pki);
  return () => fs.rmSync(pki, { recursive: true, force: true });
});

describe('etcd security', () => {
  it('TLS with a client certificate (etcd --client-cert-auth)', async () => {
    const etcd = await testEtcd({ tls, clientCertAuth: true });
    expect(etcd.endpoint).toMatch(/^https:/);
    const web = await runWeb(docker, { labels: { 'fabric.service': 'secure' } });
    const agent = await startAgent(etcd, { hostName: 'node-tls' });
    const view = new EtcdView(etcd);
    expect(await view.endpoint(web.id)).toMatchObject({ service: 'secure', port: web.hostPort });
    expect(await view.host('node-tls')).toMatchObject({ lease: await agent.leaseId() });
    // Events work over it too, and SIGTERM still revokes.
    const later = await runWeb(docker, { labels: { 'fabric.service': 'secure' } });
    await view.waitForEndpoint(later.id);
    await agent.stop();
    expect(await view.keys()).toEqual([]);
  });

  it('TLS without the client certificate is refused by etcd: the agent stays up, not ready', async () => {
    const etcd = await testEtcd({ tls, clientCertAuth: true });
    const agent = await startAgent(etcd, {
      waitReady: false,
      // Overrides the derived TLS flags: the CA only, no client certificate.
      extraArgs: ['--etcd-cert', '', '--etcd-key', ''],
    });
    const status = await waitFor(
      async () => {
        const s = await agent.status();
        return s.lastError ? s : undefined;
      },
      { timeoutMs: 15_000, what: 'a failed sync' },
    );
    expect(status.lastError.message).toMatch(/certificate/i);
    expect((await agent.get('/readyz')).status).toBe(503);
    expect(agent.proc.isRunning()).toBe(true);
    expect(await new EtcdView(etcd).keys()).toEqual([]);
  });

  it('user and password (etcd auth enabled), permission on the fabric prefix only', async () => {
    const etcd = await testEtcd();
    await enableAuth(etcd, 'fabric-agent', 's3cret', { prefix: '/fabric/' });
    const web = await runWeb(docker, { labels: { 'fabric.service': 'authed' } });
    const agent = await startAgent(etcd, { hostName: 'node-auth', auth: { user: 'fabric-agent', password: 's3cret' } });
    const view = new EtcdView(etcd);
    expect(await view.endpoint(web.id)).toMatchObject({ service: 'authed' });
    expect(await view.host('node-auth')).toBeDefined();
    await agent.stop();
    expect(await view.keys()).toEqual([]);
  });

  it('a wrong password: not ready, nothing written, the reason in /v1/status', async () => {
    const etcd = await testEtcd();
    await enableAuth(etcd, 'fabric-agent', 's3cret', { prefix: '/fabric/' });
    await runWeb(docker, { labels: { 'fabric.service': 'authed' } });
    const agent = await startAgent(etcd, { waitReady: false, auth: { user: 'fabric-agent', password: 'wrong' } });
    const status = await waitFor(
      async () => {
        const s = await agent.status();
        return s.lastError ? s : undefined;
      },
      { timeoutMs: 15_000, what: 'a failed sync' },
    );
    expect(status.lastError.message).toMatch(/auth/i);
    expect((await agent.get('/readyz')).status).toBe(503);
    expect(await new EtcdView(etcd).keys()).toEqual([]);
  });

  it('TLS with client certificate and user/password together', async () => {
    const etcd = await testEtcd({ tls, clientCertAuth: true });
    await enableAuth(etcd, 'fabric-agent', 's3cret', { prefix: '/fabric/' });
    const web = await runWeb(docker, { labels: { 'fabric.service': 'both' } });
    await startAgent(etcd, { auth: { user: 'fabric-agent', password: 's3cret' } });
    expect(await new EtcdView(etcd).endpoint(web.id)).toMatchObject({ service: 'both' });
  });
});
