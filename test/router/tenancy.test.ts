// Tenancy on a real etcd with auth (users from `fabric auth init`), real Docker and HAProxy: agents
// on their own `agent-<host>` users write only below hosts/<host>/; Services bound to hosts or
// pools refuse the other hosts' endpoints (reported, never served); an older agent's keys
// (the older layout) are served until the new agent on that host takes them over and removes them.
// Both agents watch the same test dockerd, so one container is an endpoint of hostA and of hostB.
import fs from 'node:fs';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runFabric } from '../cli/support.js';
import { type EtcdServer, removeAllContainers, runWeb, type WebContainer } from '../harness/index.js';
import { startAuthEtcd } from './auth-support.js';
import { DOMAIN, PREFIX, type RunningAgent, type RunningRouter, startAgent, startRouter, testDocker, trafficDuring, useResources, waitFor } from './support.js';

const { file, perTest } = useResources();
let etcd: EtcdServer;
let root: Etcd3;
let router: RunningRouter;
let users: string;
let agentA: RunningAgent;

interface Issue {
  code: string;
  subject: string;
  message: string;
  container?: { host: string; id: string; name: string; reason: string };
}

const as = (user: string) => ['--etcd-user', user, '--etcd-password-file', path.join(users, user)];

beforeAll(async () => {
  ({ etcd, root, users } = await startAuthEtcd(file, ['hostA', 'hostB']));
  router = await startRouter(file, etcd, { extraArgs: as('router') });
  agentA = await startAgent(file, etcd, { hostName: 'hostA', extraArgs: [...as('agent-hostA'), '--pool', 'red'] });
  await startAgent(file, etcd, { hostName: 'hostB', extraArgs: [...as('agent-hostB'), '--pool', 'blue'] });
}, 120_000);

afterEach(async () => {
  await removeAllContainers(testDocker().docker);
});

async function web(service: string, body: string): Promise<WebContainer> {
  const c = await runWeb(testDocker().docker, { labels: { 'fabric.service': service }, body });
  perTest.defer(() => c.remove());
  return c;
}

async function apply(yaml: string): Promise<void> {
  const applied = await runFabric(['apply', '-f', '-', '--etcd', etcd.endpoint, ...as('operator')], { input: yaml });
  expect(applied.stderr).toBe('');
}

async function notAllowed(): Promise<Issue[]> {
  return ((await router.status()).issues as Issue[]).filter((i) => i.code === 'FABRIC_ERR_NOT_ALLOWED');
}

/** The endpoints the router serves for a service, by host. */
async function servedHosts(service: string): Promise<string[]> {
  const res = await router.get(`/v1/services/${service}`);
  return res.status === 200 ? (res.json.endpoints as Array<{ host: string }>).map((e) => e.host).sort() : [];
}

/** What the dashboard renders: the first snapshot of GET /v1/events carries the router's status. */
async function dashboardIssues(): Promise<Issue[]> {
  const response = await fetch(`${router.url}/v1/events`, { signal: AbortSignal.timeout(10_000) });
  const reader = response.body!.getReader();
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`event stream ended before a snapshot: ${text}`);
      text += new TextDecoder().decode(value);
      const data = /event: snapshot\ndata: (.*)\n\n/.exec(text)?.[1];
      if (data) return JSON.parse(data).status.issues;
    }
  } finally {
    await reader.cancel();
  }
}

async function writeRefusal(client: Etcd3, key: string): Promise<string | undefined> {
  try {
    await client.put(`${PREFIX}/${key}`).value('{}').exec();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('tenancy', () => {
  it('an agent on its own agent-<host> user registers below hosts/<host>/ and is served; its credentials write nothing else', async () => {
    const c = await web('tnopen', 'open');
    await waitFor(async () => (await router.request(`tnopen.${DOMAIN}`)).body === 'open', { timeoutMs: 20_000, what: 'tnopen served' });
    const keys = (await root.getAll().prefix(`${PREFIX}/`).keys()).filter((k) => k.includes(c.id) || k.endsWith('/info'));
    expect(keys.sort()).toEqual(
      [
        `${PREFIX}/hosts/hostA/endpoints/tnopen/${c.id}`,
        `${PREFIX}/hosts/hostA/info`,
        `${PREFIX}/hosts/hostB/endpoints/tnopen/${c.id}`,
        `${PREFIX}/hosts/hostB/info`,
      ].sort(),
    );
    expect(await servedHosts('tnopen')).toEqual(['hostA', 'hostB']);
    expect((await agentA.status()).pool).toBe('red');

    const password = fs.readFileSync(path.join(users, 'agent-hostA'), 'utf8').trim();
    const asA = new Etcd3({ ...etcd.clientOptions({ user: 'agent-hostA', password }), dialTimeout: 2_000 });
    perTest.defer(() => asA.close());
    expect(await writeRefusal(asA, 'hosts/hostA/endpoints/tnopen/x')).toBeUndefined();
    for (const key of [
      `hosts/hostB/endpoints/tnopen/${c.id}`,
      'hosts/hostB/info',
      'services/tnopen',
      'vips/10.0.0.1',
      'routes/tnopen',
      `endpoints/tnopen/hostB/${c.id}`,
    ]) {
      expect(await writeRefusal(asA, key), key).toMatch(/permission denied/i);
    }
    await asA.delete().key(`${PREFIX}/hosts/hostA/endpoints/tnopen/x`).exec();
  });

  for (const [service, rule] of [
    ['tnhosts', 'hosts: [hostB]'],
    ['tnpools', 'pools: [blue]'],
  ] as const) {
    it(`a Service with ${rule} serves hostB's endpoint and refuses hostA's, reported with its code`, async () => {
      await apply(`kind: Service\nname: ${service}\n${rule}\n`);
      const c = await web(service, `only-b-${service}`);
      const issue = await waitFor(async () => (await notAllowed()).find((i) => i.container?.id === c.id), {
        timeoutMs: 20_000,
        what: `hostA's endpoint of ${service} refused`,
      });
      expect(issue).toMatchObject({ subject: `services/${service}`, container: { host: 'hostA', id: c.id, name: c.name } });
      await waitFor(async () => (await router.request(`${service}.${DOMAIN}`)).body === `only-b-${service}`, { timeoutMs: 20_000, what: `${service} served` });
      expect(await servedHosts(service)).toEqual(['hostB']);
      // Never rendered: HAProxy has one server for it (hostB's), not two.
      expect(await router.servedSet(`svc_${service}`)).toHaveLength(1);
      expect(await dashboardIssues()).toContainEqual(issue);
      // Without the rule, hostA's endpoint is served again and nothing is refused.
      await apply(`kind: Service\nname: ${service}\n`);
      await waitFor(async () => (await servedHosts(service)).length === 2, { timeoutMs: 20_000, what: `${service} served by both hosts` });
      expect((await notAllowed()).filter((i) => i.container?.id === c.id)).toEqual([]);
    });
  }

  it('upgrade: an older agent’s keys are served; the new agent on that host takes them over (--keep-lease) and removes them; serving never stops', async () => {
    await apply('kind: Service\nname: tnup\nhosts: [hostU]\n');
    const c = await web('tnup', 'upgraded');
    // What an older agent of hostU left (stopped with --keep-lease): the older layout, on its lease.
    const lease = root.lease(30, { autoKeepAlive: false });
    const leaseId = await lease.grant();
    const legacyEndpoint = `${PREFIX}/endpoints/tnup/hostU/${c.id}`;
    const legacyHost = `${PREFIX}/hosts/hostU`;
    const value = {
      service: 'tnup',
      host: 'hostU',
      container: c.id,
      name: c.name,
      address: '127.0.0.1',
      port: c.hostPort,
      weight: 100,
      mode: 'http',
      domains: [],
      health: 'none',
      state: 'up',
    };
    await lease.put(legacyEndpoint).value(JSON.stringify(value)).exec();
    await lease
      .put(legacyHost)
      .value(JSON.stringify({ name: 'hostU', address: '127.0.0.1', agentVersion: '0.0.9', started: new Date().toISOString() }))
      .exec();
    await waitFor(async () => (await router.request(`tnup.${DOMAIN}`)).body === 'upgraded', { timeoutMs: 20_000, what: 'the older keys served' });
    expect(await servedHosts('tnup')).toEqual(['hostU']);

    // The upgrade runs on the credentials the older agent had (root here); `fabric auth init` confines it afterwards.
    const traffic = await trafficDuring(
      (opts) => router.request(`tnup.${DOMAIN}`, '/', opts),
      5_000,
      async () => {
        await startAgent(perTest, etcd, { hostName: 'hostU', keepLease: true, auth: etcd.rootCredentials });
        return waitFor(
          async () => {
            const keys = await root.getAll().prefix(`${PREFIX}/`).exec();
            const byKey = new Map(keys.kvs.map((kv) => [kv.key.toString(), String(kv.lease)]));
            const taken = byKey.get(`${PREFIX}/hosts/hostU/endpoints/tnup/${c.id}`) === leaseId && byKey.get(`${PREFIX}/hosts/hostU/info`) === leaseId;
            return taken && !byKey.has(legacyEndpoint) && !byKey.has(legacyHost) ? byKey : undefined;
          },
          { timeoutMs: 20_000, what: 'the new agent took the keys over on the kept lease and removed the older ones' },
        );
      },
    );
    expect(traffic.failures, `${traffic.failures.length} of ${traffic.total} requests failed`).toEqual([]);
    expect(traffic.total).toBeGreaterThan(40);
    expect(await servedHosts('tnup')).toEqual(['hostU']);
    // hostA's and hostB's endpoints of the same container stay refused; hostU's never was.
    expect(
      (await notAllowed())
        .filter((i) => i.container?.id === c.id)
        .map((i) => i.container!.host)
        .sort(),
    ).toEqual(['hostA', 'hostB']);
  });
});
