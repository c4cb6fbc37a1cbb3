// Traffic policies (lb/policy, docs/routing.md) through a real HAProxy and a real nginx run by one
// router: the redirect each answers (code and Location), and the path the backend sees after
// stripPrefix / addPrefix. A service with policies is never served from a plain spare backend.
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { replaceFile } from '../harness/index.js';
import { type NginxRouter, startNginxRouter } from './nginx-support.js';
import { requestTarget, TARGETS, type Target } from './policy-support.js';
import { endpoint, type HttpResult, listenLoopback, putEndpoint, putRaw, type Resources, startRouterWithConfig, useRouterSuite, waitFor } from './support.js';

const suite = useRouterSuite({ router: false });

/**
 * A backend that answers with the path and query it was sent, the request headers it saw in
 * `x-seen-*`, and response headers of its own for the policies to replace or remove.
 */
async function startEchoBackend(res: Resources): Promise<number> {
  const server = http.createServer((req, reply) => {
    reply.writeHead(200, {
      'content-type': 'text/plain',
      'x-seen-env': String(req.headers['x-env'] ?? 'absent'),
      'x-seen-remove-me': String(req.headers['x-remove-me'] ?? 'absent'),
      'x-seen-forwarded-for': String(req.headers['x-forwarded-for'] ?? 'absent'),
      'x-seen-host': String(req.headers.host ?? 'absent'),
      'x-frame-options': 'SAMEORIGIN',
      'x-powered-by': 'echo',
    });
    reply.end(req.url);
  });
  return listenLoopback(res, server);
}

let router: NginxRouter;
let echo: number;

function request(target: Target, host: string, pathname: string): Promise<HttpResult> {
  return target === 'haproxy' ? router.requestHaproxy(host, pathname) : router.request(host, pathname);
}

/** A GET with headers of the client's own. */
function requestWith(target: Target, host: string, headers: Record<string, string>): Promise<HttpResult> {
  return requestTarget(router, target, host, { headers });
}

async function putService(spec: Record<string, unknown>, withEndpoint: boolean): Promise<number> {
  const name = String(spec.name);
  let rev = await putRaw(suite.client, `services/${name}`, JSON.stringify({ kind: 'Service', ...spec }));
  if (withEndpoint) rev = await putEndpoint(suite.client, endpoint({ service: name, port: echo, name: `${name}-1` }));
  return rev;
}

/** Until both targets answer `host` + `pathname` as `expected` says. */
async function waitBoth(host: string, pathname: string, expected: (r: HttpResult) => boolean, what: string): Promise<void> {
  for (const target of TARGETS) {
    await waitFor(async () => expected(await request(target, host, pathname)), { timeoutMs: 15_000, what: `${target}: ${what}` });
  }
}

beforeAll(async () => {
  router = await startNginxRouter(suite.file, suite.etcd, { haproxy: true, lbOnExit: 'stop' });
  echo = await startEchoBackend(suite.file);
});

describe('traffic policies through HAProxy and nginx', () => {
  it('redirect: each code, with scheme, host and path as set and the rest from the request', async () => {
    await putService({ name: 'r301', domains: ['r301.example.com'], redirect: { scheme: 'https', host: 'www.example.com', code: 301 } }, false);
    await putService({ name: 'r302', domains: ['r302.example.com'], redirect: { host: 'other.example.com:8443' } }, false);
    await putService({ name: 'r307', domains: ['r307.example.com'], redirect: { scheme: 'https', code: 307 } }, false);
    // With endpoints: the redirect still answers first.
    const rev = await putService({ name: 'r308', domains: ['r308.example.com'], redirect: { path: '/moved', code: 308 } }, true);
    await router.waitApplied(rev);
    const cases: Array<[string, string, number, string]> = [
      ['r301.example.com', '/a/b?q=1', 301, 'https://www.example.com/a/b?q=1'],
      ['r302.example.com', '/x?y=2', 302, 'http://other.example.com:8443/x?y=2'],
      ['r307.example.com', '/p', 307, 'https://r307.example.com/p'],
      ['r308.example.com', '/old/page?z=3', 308, 'http://r308.example.com/moved'],
    ];
    for (const [host, pathname, status] of cases) await waitBoth(host, pathname, (r) => r.status === status, `${host} answers ${status}`);
    for (const target of TARGETS) {
      for (const [host, pathname, status, location] of cases) {
        const r = await request(target, host, pathname);
        expect({ target, host, status: r.status, location: r.headers.location }).toEqual({ target, host, status, location });
      }
    }
  });

  it('stripPrefix and addPrefix: the path (and query) the backend sees', async () => {
    await putService({ name: 'strip', domains: ['strip.example.com'], stripPrefix: '/api' }, true);
    await putService({ name: 'add', domains: ['add.example.com'], addPrefix: '/v1' }, true);
    const rev = await putService({ name: 'both', domains: ['both.example.com'], stripPrefix: '/api', addPrefix: '/v2.0' }, true);
    await router.waitApplied(rev);
    const cases: Array<[string, string, string]> = [
      ['strip.example.com', '/api/users?x=1', '/users?x=1'],
      ['strip.example.com', '/api', '/'],
      ['strip.example.com', '/apix/y', '/apix/y'],
      ['strip.example.com', '/other', '/other'],
      ['add.example.com', '/users?x=1', '/v1/users?x=1'],
      ['add.example.com', '/', '/v1/'],
      ['both.example.com', '/api/x/y', '/v2.0/x/y'],
      ['both.example.com', '/api', '/v2.0/'],
      ['both.example.com', '/z', '/v2.0/z'],
    ];
    for (const [host, pathname, seen] of cases) await waitBoth(host, pathname, (r) => r.status === 200 && r.body === seen, `${host}${pathname} → ${seen}`);
    for (const target of TARGETS) {
      for (const [host, pathname, seen] of cases) {
        const r = await request(target, host, pathname);
        expect({ target, host, pathname, status: r.status, body: r.body }).toEqual({ target, host, pathname, status: 200, body: seen });
      }
    }
  });

  it('headers: set and removed on the request the backend sees and on the response the client gets', async () => {
    const rev = await putService(
      {
        name: 'hdr',
        domains: ['hdr.example.com'],
        headers: {
          request: { 'X-Env': 'prod 100%', 'X-Remove-Me': null },
          response: { 'X-Frame-Options': 'DENY', 'X-Powered-By': null, 'X-Policy': "a; b 'c' #d" },
        },
      },
      true,
    );
    await router.waitApplied(rev);
    await waitBoth('hdr.example.com', '/', (r) => r.headers['x-seen-env'] === 'prod 100%', 'hdr sets X-Env');
    for (const target of TARGETS) {
      const r = await requestWith(target, 'hdr.example.com', { 'X-Remove-Me': 'yes', 'X-Env': 'client' });
      expect({ target, status: r.status }).toEqual({ target, status: 200 });
      expect(r.headers['x-seen-env']).toBe('prod 100%');
      expect(r.headers['x-seen-remove-me']).toBe('absent');
      // fabric's own request headers survive a service's (nginx: proxy_set_header in a location replaces the http block's).
      expect(r.headers['x-seen-forwarded-for']).toBe('127.0.0.1');
      expect(r.headers['x-seen-host']).toBe('hdr.example.com');
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['x-powered-by']).toBeUndefined();
      expect(r.headers['x-policy']).toBe("a; b 'c' #d");
    }
  });

  it('maintenance: 503 with the page while enabled, served again when disabled', async () => {
    const page = '<!doctype html>\n<h1 class="m">back soon</h1>\t100% \\o/\n';
    let rev = await putService({ name: 'maint', domains: ['maint.example.com'], maintenance: { enabled: true, page }, stripPrefix: '/api' }, true);
    await router.waitApplied(rev);
    await waitBoth('maint.example.com', '/api/x', (r) => r.status === 503, 'maint answers 503');
    for (const target of TARGETS) {
      const r = await request(target, 'maint.example.com', '/api/x');
      expect({ target, status: r.status, body: r.body, type: r.headers['content-type'] }).toEqual({ target, status: 503, body: page, type: 'text/html' });
    }
    rev = await putService({ name: 'maint', domains: ['maint.example.com'], maintenance: { enabled: false, page }, stripPrefix: '/api' }, false);
    await router.waitApplied(rev);
    await waitBoth('maint.example.com', '/api/x', (r) => r.status === 200 && r.body === '/x', 'maint served again');
  });

  it('timeouts.server: an endpoint slower than it is answered 504, one within it 200', async () => {
    const slow = http.createServer((req, reply) => {
      const delay = req.url?.startsWith('/slow') ? 1_500 : 0;
      const timer = setTimeout(() => reply.end('late'), delay);
      reply.on('close', () => clearTimeout(timer));
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', () => resolve()));
    suite.perTest.defer(
      () =>
        new Promise<void>((resolve) => {
          slow.closeAllConnections();
          slow.close(() => resolve());
        }),
    );
    await putRaw(
      suite.client,
      'services/slowsvc',
      JSON.stringify({ kind: 'Service', name: 'slowsvc', domains: ['slow.example.com'], timeouts: { server: '200ms' } }),
    );
    const rev = await putEndpoint(suite.client, endpoint({ service: 'slowsvc', port: (slow.address() as net.AddressInfo).port, name: 'slow-1' }));
    await router.waitApplied(rev);
    await waitBoth('slow.example.com', '/fast', (r) => r.status === 200, 'slowsvc served');
    for (const target of TARGETS) {
      expect({ target, status: (await request(target, 'slow.example.com', '/slow')).status }).toEqual({ target, status: 504 });
      expect({ target, status: (await request(target, 'slow.example.com', '/fast')).status }).toEqual({ target, status: 200 });
    }
  });

  it('a service with policies added while HAProxy runs gets its own backend (a reload), never a plain spare', async () => {
    const plainRev = await putService({ name: 'late-plain', domains: ['late-plain.example.com'] }, true);
    await router.waitApplied(plainRev);
    await waitBoth('late-plain.example.com', '/api/a', (r) => r.status === 200 && r.body === '/api/a', 'late-plain served unchanged');
    const config = () => fs.readFileSync(path.join(path.dirname(router.dir), 'haproxy/haproxy.cfg'), 'utf8');
    // The plain one took a spare at run time: no backend of its own yet.
    expect(config()).not.toContain('backend svc_late-plain');
    const rev = await putService({ name: 'late', domains: ['late.example.com'], stripPrefix: '/api' }, true);
    await router.waitApplied(rev);
    await waitBoth('late.example.com', '/api/a', (r) => r.status === 200 && r.body === '/a', 'late served stripped');
    expect(config()).toMatch(/backend svc_late\n(.*\n)*? {2}http-request set-path %\[path,bytes\(4\)\] if \{ path_beg \/api\/ \}\n/);
    const haproxy = await router.target('haproxy');
    expect(haproxy.lastError).toBeUndefined();
  });

  it('a target that cannot apply a policy says so in /v1/status (a spec written past fabric apply)', async () => {
    const work = suite.perTest.tempDir('fabric-policy-file-');
    const template = path.join(work, 'services.hbs');
    replaceFile(template, '{{#each services}}{{name}}\n{{/each}}');
    const fileRouter = await startRouterWithConfig(suite.perTest, suite.etcd, {
      targets: [{ kind: 'file', name: 'names', template, dest: path.join(work, 'services.txt') }],
    });
    const rev = await putService({ name: 'hand', domains: ['hand.example.com'], addPrefix: '/v9' }, false);
    await fileRouter.waitApplied(rev);
    const target = ((await fileRouter.status()).targets as any[]).find((t) => t.name === 'names');
    expect(target.limitations).toContain('service hand: addPrefix is not supported by file targets: this target serves it without');
    expect(target.limitations).toContain('service strip: stripPrefix is not supported by file targets: this target serves it without');
  });
});
