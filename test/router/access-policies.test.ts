// Access-control, body and error-page policies (basicAuth, allow/deny, maxBodySize, errorPages;
// lb/policy, docs/routing.md) through a real HAProxy and a real nginx run by one router: 401/200 by
// credentials (bcrypt and SHA-512-crypt users), 403/200 by client address (127.0.0.2 as a second
// client on loopback), X-Forwarded-For honoured only from the router's trustedProxies (127.0.0.3
// here), 413/200 by body size, and the custom 502/503 pages.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type NginxRouter, startNginxRouter } from './nginx-support.js';
import { type Client, requestTarget, TARGETS, type Target } from './policy-support.js';
import { endpoint, type HttpResult, listenLoopback, putEndpoint, putRaw, type Resources, useRouterSuite, waitFor } from './support.js';

const suite = useRouterSuite({ router: false });

// `python3 -c "import crypt; crypt.crypt('open-sesame', '$2b$05$…')"` and `openssl passwd -6 -salt fabricsalt hunter2-long`.
const ALICE = 'alice:$2b$05$abcdefghijklmnopqrstuutXu9KzOt.1yBoZUeFWoT/914/JfszCO';
const BOB = 'bob:$6$fabricsalt$JsMn.m0Fim23y86/jVDWLTbn2K4cb3LguAdCQhQiwPwOYr2t/GYHTUbgb49M68TLx7lKjPx8RQFHq88wcEsSv0';
const TRUSTED_PROXY = '127.0.0.3';

/** A backend that reads the body and answers 200 with its length and the Authorization header it saw (the policy must not pass it on). */
async function startEchoBackend(res: Resources): Promise<number> {
  const server = http.createServer((req, reply) => {
    let length = 0;
    req.on('data', (chunk: Buffer) => (length += chunk.length));
    req.on('end', () => {
      reply.writeHead(200, { 'content-type': 'text/plain', 'x-seen-authorization': String(req.headers.authorization ?? 'absent') });
      reply.end(`ok ${length}`);
    });
  });
  return listenLoopback(res, server);
}

let router: NginxRouter;
let echo: number;

function request(target: Target, host: string, client: Client = {}): Promise<HttpResult> {
  return requestTarget(router, target, host, client);
}

async function putService(spec: Record<string, unknown>, withEndpoint = true): Promise<number> {
  const name = String(spec.name);
  const rev = await putRaw(suite.client, `services/${name}`, JSON.stringify({ kind: 'Service', ...spec }));
  return withEndpoint ? putEndpoint(suite.client, endpoint({ service: name, port: echo, name: `${name}-1` })) : rev;
}

/** Each case's status from both targets, once both answer every case as expected (each target waited for in turn). */
async function expectStatuses(cases: Array<[string, Client, number]>): Promise<void> {
  for (const target of TARGETS) {
    await waitFor(
      async () => {
        for (const [host, client, status] of cases) {
          const r = await request(target, host, client);
          // Thrown, so a timeout names the case that did not answer as expected.
          if (r.status !== status) throw new Error(`${host} ${JSON.stringify(client)}: ${r.status} ${r.body.slice(0, 200)}`);
        }
        return true;
      },
      { timeoutMs: 20_000, what: `${target}: every case answers as expected` },
    );
    for (const [host, client, status] of cases) {
      const r = await request(target, host, client);
      expect({ target, host, client, status: r.status }).toEqual({ target, host, client, status });
    }
  }
}

beforeAll(async () => {
  router = await startNginxRouter(suite.file, suite.etcd, { haproxy: true, lbOnExit: 'stop', config: { trustedProxies: [`${TRUSTED_PROXY}/32`] } });
  echo = await startEchoBackend(suite.file);
  // Run as root, nginx's workers (nogroup) must reach the htpasswd file: the test's temp directory is 0700.
  fs.chmodSync(path.dirname(router.dir), 0o711);
});

describe('access-control policies through HAProxy and nginx', () => {
  it('basicAuth: 401 without or with wrong credentials, 200 for a bcrypt and a SHA-512-crypt user; hashes never shown', async () => {
    const rev = await putService({ name: 'auth', domains: ['auth.example.com'], basicAuth: { realm: 'ops', users: [ALICE, BOB] } });
    await router.waitApplied(rev);
    const host = 'auth.example.com';
    await expectStatuses([
      [host, {}, 401],
      [host, { auth: 'alice:open-sesame' }, 200],
      [host, { auth: 'bob:hunter2-long' }, 200],
      [host, { auth: 'alice:wrong' }, 401],
      [host, { auth: 'bob:open-sesame' }, 401],
      [host, { auth: 'carol:open-sesame' }, 401],
    ]);
    for (const target of TARGETS) {
      const refused = await request(target, host);
      expect(refused.headers['www-authenticate'], target).toMatch(/^Basic realm="ops"/);
      const served = await request(target, host, { auth: 'alice:open-sesame' });
      expect(served.headers['x-seen-authorization'], target).toBe('absent');
    }
    // nginx's htpasswd file, next to its config: never world-readable (run as root, nginx's workers read it through their group).
    const file = path.join(router.dir, 'auth', 'auth.htpasswd');
    const root = process.geteuid?.() === 0;
    expect(fs.statSync(file).mode & 0o777).toBe(root ? 0o640 : 0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(root ? 0o750 : 0o700);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${ALICE}\n${BOB}\n`);
    // The API shows the users by name, never their hashes.
    for (const pathname of ['/v1/status', '/v1/services/auth', '/v1/services']) {
      const text = (await router.get(pathname)).text;
      expect(text, pathname).not.toContain('$2b$');
      expect(text, pathname).not.toContain('$6$');
    }
    expect((await router.get('/v1/services/auth')).text).toContain('alice:(hidden)');
  });

  it('allow/deny: 403 from a refused client address, 200 from an allowed one; deny wins over allow', async () => {
    await putService({ name: 'only2', domains: ['only2.example.com'], allow: ['127.0.0.2/32'] });
    await putService({ name: 'not2', domains: ['not2.example.com'], deny: ['127.0.0.2/32', 'fd00::/8'] });
    const rev = await putService({ name: 'both', domains: ['both.example.com'], allow: ['127.0.0.0/8', '::1/128'], deny: ['127.0.0.2/32'] });
    await router.waitApplied(rev);
    await expectStatuses([
      ['only2.example.com', {}, 403],
      ['only2.example.com', { from: '127.0.0.2' }, 200],
      ['not2.example.com', {}, 200],
      ['not2.example.com', { from: '127.0.0.2' }, 403],
      ['both.example.com', {}, 200],
      ['both.example.com', { from: '127.0.0.2' }, 403],
    ]);
  });

  it('X-Forwarded-For is the client address only on connections from a trusted proxy (its last address)', async () => {
    const rev = await putService({ name: 'xff', domains: ['xff.example.com'], allow: ['127.0.0.2/32'] });
    await router.waitApplied(rev);
    const host = 'xff.example.com';
    await expectStatuses([
      // Untrusted: the header is the client's claim, ignored.
      [host, { headers: { 'x-forwarded-for': '127.0.0.2' } }, 403],
      [host, { from: '127.0.0.2', headers: { 'x-forwarded-for': '127.0.0.1' } }, 200],
      // Trusted: the address the proxy appended (the last) is the client's.
      [host, { from: TRUSTED_PROXY, headers: { 'x-forwarded-for': '127.0.0.2' } }, 200],
      [host, { from: TRUSTED_PROXY, headers: { 'x-forwarded-for': '127.0.0.2, 127.0.0.1' } }, 403],
      [host, { from: TRUSTED_PROXY, headers: { 'x-forwarded-for': '127.0.0.1, 127.0.0.2' } }, 200],
      // No header: the proxy's own address.
      [host, { from: TRUSTED_PROXY }, 403],
    ]);
  });
});

describe('body policies through HAProxy and nginx', () => {
  it('maxBodySize: 413 over the limit, 200 at and under it; a chunked body: nginx counts it, HAProxy asks for a length (411)', async () => {
    const rev = await putService({ name: 'small', domains: ['small.example.com'], maxBodySize: '1k' });
    await router.waitApplied(rev);
    const host = 'small.example.com';
    await expectStatuses([
      [host, { body: { bytes: 1024 } }, 200],
      [host, { body: { bytes: 10 } }, 200],
      [host, { body: { bytes: 1025 } }, 413],
      [host, { body: { bytes: 64 * 1024 } }, 413],
      [host, {}, 200],
    ]);
    for (const target of TARGETS) expect((await request(target, host, { body: { bytes: 1024 } })).body, target).toBe('ok 1024');
    expect((await request('nginx', host, { body: { bytes: 100, chunked: true } })).status).toBe(200);
    expect((await request('nginx', host, { body: { bytes: 4096, chunked: true } })).status).toBe(413);
    expect((await request('haproxy', host, { body: { bytes: 100, chunked: true } })).status).toBe(411);
  });

  it('errorPages: the page of the service when no endpoint answers (503)', async () => {
    const page = '<!doctype html><h1>"api" is resting</h1>\n\t<p>back soon</p>\n';
    const rev = await putService({ name: 'paged', domains: ['paged.example.com'], errorPages: { 503: page, 502: '<h1>bad gateway</h1>' } }, false);
    await router.waitApplied(rev);
    for (const target of TARGETS) {
      await waitFor(async () => (await request(target, 'paged.example.com')).body === page, { timeoutMs: 20_000, what: `${target}: the 503 page` });
      const r = await request(target, 'paged.example.com');
      expect({ target, status: r.status, type: r.headers['content-type'] }).toEqual({ target, status: 503, type: expect.stringMatching(/^text\/html/) });
    }
  });

  it('errorPages: an endpoint that cuts every request gets the 502 page (its TCP check passes, so it stays in rotation)', async () => {
    const server = http.createServer((req) => req.socket.destroy());
    const port = await listenLoopback(suite.file, server);
    const pages = { 502: '<h1>bad gateway</h1>', 503: '<h1>none</h1>' };
    await putRaw(suite.client, 'services/broken', JSON.stringify({ kind: 'Service', name: 'broken', domains: ['broken.example.com'], errorPages: pages }));
    const rev = await putEndpoint(suite.client, endpoint({ service: 'broken', port, name: 'broken-1' }));
    await router.waitApplied(rev);
    for (const target of TARGETS) {
      await waitFor(async () => (await request(target, 'broken.example.com')).status === 502, { timeoutMs: 20_000, what: `${target}: 502` });
      const r = await request(target, 'broken.example.com');
      expect({ target, status: r.status, body: r.body }).toEqual({ target, status: 502, body: pages[502] });
    }
  });
});
