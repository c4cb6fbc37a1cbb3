// The router's API with --api-token-file: the token is required (Bearer, or ?token= on the event
// stream only), the probes stay open, and an API beyond loopback without a token never starts.
// etcd runs with auth, the router reads its password from --etcd-password-file.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runFabric } from '../cli/support.js';
import { CLI, enableAuth, freePort, ROOT, startProcess } from '../harness/index.js';
import { type RunningRouter, startEtcdFor, startRouter, useResources } from './support.js';

const { file } = useResources();
const token = randomBytes(24).toString('base64url');
const password = randomBytes(18).toString('base64url');
let router: RunningRouter;
let tokenFile: string;

/** A file only its owner reads, as a secret should be. */
function secret(dir: string, name: string, text: string): string {
  const where = path.join(dir, name);
  fs.writeFileSync(where, `${text}\n`, { mode: 0o600 });
  return where;
}

beforeAll(async () => {
  const etcd = await startEtcdFor(file);
  await enableAuth(etcd, 'fabric-router', password, { prefix: '/fabric/' });
  const dir = file.tempDir('fabric-api-token-');
  tokenFile = secret(dir, 'api-token', token);
  const passwordFile = secret(dir, 'etcd-password', password);
  router = await startRouter(file, etcd, {
    extraArgs: ['--etcd-user', 'fabric-router', '--etcd-password-file', passwordFile, '--api-token-file', tokenFile],
    apiToken: token,
  });
}, 60_000);

const get = (pathname: string, headers: Record<string, string> = {}) => fetch(`${router.url}${pathname}`, { headers, signal: AbortSignal.timeout(5_000) });

describe('router API token', () => {
  it('401 without a token or with a wrong one, 200 with it; the answer says what is missing', async () => {
    for (const pathname of ['/v1/status', '/v1/services', '/metrics', '/docs/json']) {
      const none = await get(pathname);
      expect(none.status, pathname).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(((await none.json()) as { error: unknown }).error).toMatchObject({
        code: 'FABRIC_ERR_UNAUTHORIZED',
        message: expect.stringMatching(/Authorization: Bearer/),
      });
      expect((await get(pathname, { authorization: `Bearer ${token}x` })).status, pathname).toBe(401);
      expect((await get(pathname, { authorization: `Basic ${Buffer.from(`u:${token}`).toString('base64')}` })).status, pathname).toBe(401);
      expect((await get(pathname, { authorization: `Bearer ${token}` })).status, pathname).toBe(200);
    }
    // ?token= is for the event stream only.
    expect((await get(`/v1/status?token=${token}`)).status).toBe(401);
  });

  it('/healthz, /readyz and the dashboard page answer without the token', async () => {
    for (const pathname of ['/healthz', '/readyz', '/', '/dashboard/app.js']) expect((await get(pathname)).status, pathname).toBe(200);
  });

  it('the event stream takes the token as ?token= (EventSource sends no header)', async () => {
    expect((await get('/v1/events')).status).toBe(401);
    expect((await get(`/v1/events?token=${encodeURIComponent('wrong')}`)).status).toBe(401);
    const abort = new AbortController();
    const stream = await fetch(`${router.url}/v1/events?token=${encodeURIComponent(token)}`, { signal: abort.signal });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    abort.abort();
  });

  it('refuses to listen beyond loopback without a token file, before binding anything', async () => {
    const port = await freePort();
    const proc = startProcess(process.execPath, [CLI, 'router', '--etcd', 'http://127.0.0.1:1', '--listen', `0.0.0.0:${port}`], {
      name: 'router-open-listen',
      cwd: ROOT,
    });
    file.defer(async () => {
      await proc.stop();
    });
    expect((await proc.exited).code).toBe(1);
    expect(proc.output()).toMatch(
      /FABRIC_ERR_CONFIG.*--listen 0\.0\.0\.0:\d+: the API would be reachable beyond loopback without a token; pass --api-token-file/,
    );
  });

  it('fabric status sends the token from --api-token-file, and says so when it is missing', async () => {
    const without = await runFabric(['status', '--router', router.url]);
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/FABRIC_ERR_UNAUTHORIZED.*HTTP 401: pass the router's token with --api-token-file/);
    const withToken = await runFabric(['status', '--router', router.url, '--api-token-file', tokenFile]);
    expect(withToken.stderr).toBe('');
    expect(withToken.code).toBe(0);
    expect(withToken.stdout).toMatch(/^fabric router http:\/\/127\.0\.0\.1:\d+ · running/);
  });
});
