// rateLimit and retries (lb/policy/rate-limit.ts, retries.ts; docs/routing.md) through a real HAProxy
// and a real nginx run by one router: 429 past N requests in the period for one client address
// (another address still served) and 200 again after it; a GET or PUT that met a failing server
// answered by the other one, a POST never sent twice, and no retry with `retries: 0`.
import http from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { type NginxRouter, startNginxRouter } from './nginx-support.js';
import { endpoint, listenLoopback, putEndpoint, putRaw, type Resources, useRouterSuite, waitFor } from './support.js';

const suite = useRouterSuite({ router: false });

type Target = 'haproxy' | 'nginx';
const TARGETS: Target[] = ['haproxy', 'nginx'];

let router: NginxRouter;

interface Reply {
  status: number;
  body: string;
}

/** One request on a new connection, from `from` (a loopback address: a client of its own). */
function send(target: Target, host: string, opts: { method?: string; path?: string; from?: string; body?: string } = {}): Promise<Reply> {
  const port = target === 'haproxy' ? router.haproxyPort! : router.nginxPort;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        localAddress: opts.from ?? '127.0.0.1',
        headers: { host },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`${opts.method ?? 'GET'} ${host} timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A backend that records `METHOD path` of every request but `/ready`, and answers `status` (200 or 502) to them. */
async function startRecorder(res: Resources, name: string, status: number): Promise<{ port: number; seen: string[] }> {
  const seen: string[] = [];
  const server = http.createServer((req, reply) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/ready') {
        reply.writeHead(200, { 'content-type': 'text/plain' }).end('ready');
        return;
      }
      seen.push(`${req.method} ${req.url}`);
      reply.writeHead(status, { 'content-type': 'text/plain' }).end(name);
    });
  });
  return { port: await listenLoopback(res, server), seen };
}

async function putService(spec: Record<string, unknown>, ports: number[]): Promise<number> {
  const name = String(spec.name);
  let rev = await putRaw(suite.client, `services/${name}`, JSON.stringify({ kind: 'Service', ...spec }));
  for (const [i, port] of ports.entries()) rev = await putEndpoint(suite.client, endpoint({ service: name, port, name: `${name}-${i + 1}` }));
  return rev;
}

/** Until the target serves `host` (asked from 127.0.0.9 and at /ready: neither counts for the client or server under test). */
async function waitServed(target: Target, host: string): Promise<void> {
  await waitFor(async () => (await send(target, host, { path: '/ready', from: '127.0.0.9' })).status === 200, {
    timeoutMs: 30_000,
    what: `${target} serves ${host}`,
  });
}

beforeAll(async () => {
  router = await startNginxRouter(suite.file, suite.etcd, { haproxy: true, lbOnExit: 'stop' });
});

describe('rateLimit and retries through HAProxy and nginx', { timeout: 180_000 }, () => {
  it('rateLimit: 429 past N requests in the period for that client address only, served again after it', async () => {
    const ok = await startRecorder(suite.perTest, 'ok', 200);
    const rev = await putService({ name: 'limited', domains: ['limited.example.com'], rateLimit: { requests: 3, per: '6s' } }, [ok.port]);
    await router.waitApplied(rev);
    for (const target of TARGETS) {
      await waitServed(target, 'limited.example.com');
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await send(target, 'limited.example.com', { path: `/${i}` })).status);
      expect({ target, statuses }).toEqual({ target, statuses: [200, 200, 200, 429, 429] });
      // Another client address has a count of its own.
      expect({ target, other: (await send(target, 'limited.example.com', { from: '127.0.0.2' })).status }).toEqual({ target, other: 200 });
      // Once a period passes (polled every 3 s: at most 3 requests in any 6 s, within the limit), the first client is served again.
      const started = Date.now();
      await waitFor(async () => (await send(target, 'limited.example.com')).status === 200, {
        timeoutMs: 60_000,
        intervalMs: 3_000,
        what: `${target}: limited served again after the period`,
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    }
  });

  it('retries: a GET or PUT that met the failing server is answered by the other; a POST reaches one server once', async () => {
    const failing = await startRecorder(suite.perTest, 'failing', 502);
    const good = await startRecorder(suite.perTest, 'good', 200);
    await putService({ name: 'retry-get', domains: ['retry-get.example.com'], retries: 2 }, [failing.port, good.port]);
    const rev = await putService({ name: 'retry-post', domains: ['retry-post.example.com'], retries: 2 }, [failing.port, good.port]);
    await router.waitApplied(rev);
    for (const target of TARGETS) {
      await waitServed(target, 'retry-get.example.com');
      await waitServed(target, 'retry-post.example.com');
      // Idempotent: every answer is the good server's, though the failing one got some of them first.
      for (let i = 0; i < 6; i++) {
        const method = i % 2 === 0 ? 'GET' : 'PUT';
        const r = await send(target, 'retry-get.example.com', { method, path: `/${target}-${i}`, body: method === 'PUT' ? 'x' : undefined });
        expect({ target, method, i, status: r.status, body: r.body }).toEqual({ target, method, i, status: 200, body: 'good' });
      }
      const retried = failing.seen.filter((s) => s.includes(`/${target}-`));
      expect({ target, retried: retried.length > 0 }).toEqual({ target, retried: true });
      for (const s of retried) expect(good.seen).toContain(s);
      // POST: until one lands on the failing server; its 502 comes back, and nothing else saw that POST.
      let n = 0;
      const failed = await waitFor(
        async () => {
          const path = `/${target}-post-${n++}`;
          return (await send(target, 'retry-post.example.com', { method: 'POST', path, body: 'x' })).status === 502 && path;
        },
        { timeoutMs: 30_000, what: `${target}: a POST reaches the failing server` },
      );
      expect({
        target,
        failing: failing.seen.filter((s) => s === `POST ${failed}`).length,
        good: good.seen.filter((s) => s === `POST ${failed}`).length,
      }).toEqual({
        target,
        failing: 1,
        good: 0,
      });
    }
  });

  it('retries: 0 passes the failing server answer on', async () => {
    const failing = await startRecorder(suite.perTest, 'failing', 502);
    const good = await startRecorder(suite.perTest, 'good', 200);
    const rev = await putService({ name: 'no-retry', domains: ['no-retry.example.com'], retries: 0 }, [failing.port, good.port]);
    await router.waitApplied(rev);
    for (const target of TARGETS) {
      await waitServed(target, 'no-retry.example.com');
      let n = 0;
      const path = await waitFor(
        async () => {
          const p = `/${target}-${n++}`;
          return (await send(target, 'no-retry.example.com', { path: p })).status === 502 && p;
        },
        { timeoutMs: 30_000, what: `${target}: a GET answered by the failing server` },
      );
      expect({ target, good: good.seen.includes(`GET ${path}`) }).toEqual({ target, good: false });
    }
  });
});
