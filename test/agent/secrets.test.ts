// Secrets hygiene (issue 15 item 6): a router and an agent on etcd with auth, their etcd password
// read from --etcd-password-file and their APIs behind --api-token-file. Neither secret may show in
// their logs (debug level), in any answer of their APIs, or on their command lines (`ps`).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { enableAuth } from '../harness/index.js';
import { DOMAIN, Resources, startRouter } from '../router/support.js';
import { defer, EtcdView, type RunningAgent, runWeb, startAgent, tempDir, testDocker, testEtcd, useAgentCleanup, waitFor } from './support.js';

useAgentCleanup();
const { docker } = testDocker();

function secret(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `${text}\n`, { mode: 0o600 });
  return file;
}

interface Api {
  url: string;
  apiToken: string | undefined;
  proc: RunningAgent['proc'];
  get(pathname: string): Promise<{ status: number; text: string; json: any }>;
}

/** Every GET route the process documents at /docs/json that takes no parameter (the event stream never ends: left out). */
async function documentedGets(api: Api): Promise<string[]> {
  const doc = (await api.get('/docs/json')).json as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths)
    .filter(([route, methods]) => 'get' in methods && !route.includes('{') && route !== '/v1/events')
    .map(([route]) => route);
}

function expectNoSecret(where: string, text: string, secrets: string[]): void {
  for (const value of secrets) expect(text.includes(value), `${where} shows a secret`).toBe(false);
}

describe('secrets hygiene', () => {
  it('a password file and an API token: never in logs, API answers or command lines', async () => {
    const etcd = await testEtcd();
    const password = `pw-${randomBytes(16).toString('hex')}`;
    const token = `tok-${randomBytes(16).toString('hex')}`;
    await enableAuth(etcd, 'fabric', password, { prefix: '/fabric/' });
    const dir = tempDir();
    const flags = [
      '--etcd-user',
      'fabric',
      '--etcd-password-file',
      secret(dir, 'etcd-password', password),
      '--api-token-file',
      secret(dir, 'api-token', token),
    ];
    const web = await runWeb(docker, { labels: { 'fabric.service': 'hush' } });
    const agent = await startAgent(etcd, { hostName: 'hush-host', extraArgs: [...flags, '--metrics-public'], apiToken: token });
    await new EtcdView(etcd).waitForEndpoint(web.id);
    const res = new Resources();
    defer(() => res.release());
    const router = await startRouter(res, etcd, { extraArgs: flags, apiToken: token });
    // The fabric works on these credentials: the container is served.
    await waitFor(async () => (await router.request(`hush.${DOMAIN}`)).status === 200, { timeoutMs: 30_000, what: 'hush served through HAProxy' });

    // The event stream takes the token in its address (EventSource sends no header): opened and closed, it must not reach the log.
    const abort = new AbortController();
    const stream = await fetch(`${router.url}/v1/events?token=${token}`, { signal: abort.signal });
    expect(stream.status).toBe(200);
    abort.abort();
    await router.proc.waitForLine(/event stream closed/, 10_000);
    expect((await fetch(`${router.url}/?token=${token}`)).status).toBe(200);
    await router.proc.waitForLine(/"url":"\/\?token=\[redacted\]"/, 10_000);

    const secrets = [password, token];
    for (const api of [agent, router] as Api[]) {
      const routes = await documentedGets(api);
      expect(routes).toContain('/v1/status');
      expect(routes.length).toBeGreaterThan(3);
      for (const route of [...routes, ...(api === (router as Api) ? ['/v1/services/hush'] : [])]) {
        const answer = await api.get(route);
        expect(answer.status, `${api.proc.name} ${route}`).toBeLessThan(500);
        expectNoSecret(`${api.proc.name} ${route}`, answer.text, secrets);
      }
      expectNoSecret(`${api.proc.name}'s log`, api.proc.output(), secrets);
      expectNoSecret(`${api.proc.name}'s command line`, fs.readFileSync(`/proc/${api.proc.pid}/cmdline`, 'utf8'), secrets);
      expectNoSecret(`${api.proc.name}'s environment`, fs.readFileSync(`/proc/${api.proc.pid}/environ`, 'utf8'), secrets);
    }
    // The agent's API is behind the token too; its probes are not.
    expect((await fetch(`${agent.url}/v1/status`)).status).toBe(401);
    expect((await fetch(`${agent.url}/v1/endpoints`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${agent.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${agent.url}/readyz`)).status).toBe(200);
    // --metrics-public opens /metrics on the agent only.
    expect((await fetch(`${agent.url}/metrics`)).status).toBe(200);
    expect((await fetch(`${router.url}/metrics`)).status).toBe(401);
  });

  it('a wrong password from the file: the failure is explained without the password', async () => {
    const etcd = await testEtcd();
    await enableAuth(etcd, 'fabric', `pw-${randomBytes(16).toString('hex')}`, { prefix: '/fabric/' });
    const wrong = `wrong-${randomBytes(16).toString('hex')}`;
    const file = secret(tempDir(), 'etcd-password', wrong);
    const agent = await startAgent(etcd, { waitReady: false, extraArgs: ['--etcd-user', 'fabric', '--etcd-password-file', file] });
    const status = await waitFor(
      async () => {
        const s = await agent.status();
        return s.lastError ? s : undefined;
      },
      { timeoutMs: 20_000, what: 'a failed sync' },
    );
    expect(status.lastError.message).toMatch(/authentication of etcd user "fabric" failed \(wrong user or password\)/);
    expectNoSecret('/v1/status', JSON.stringify(status), [wrong]);
    expectNoSecret('the log', agent.proc.output(), [wrong]);
  });
});
