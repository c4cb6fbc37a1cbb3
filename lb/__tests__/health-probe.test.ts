// The probe adapters against real sockets on 127.0.0.1, and the checker wired to them.
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { HealthChecker } from '../health/checker.js';
import { httpProbe, tcpProbe } from '../health/probe.js';
import type { CheckSpec } from '../health/spec.js';
import { buildModel } from '../model.js';
import { endpointEntry, ep } from './fixtures.js';

let server: http.Server;
let port: number;
let closedPort: number;
let silent: net.Server;
let silentPort: number;
let healthStatus = 200;
const hits: string[] = [];
const open = new Set<net.Socket>();

async function listen(s: net.Server): Promise<number> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return (s.address() as net.AddressInfo).port;
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/redirect') return res.writeHead(302, { location: '/elsewhere-that-fails' }).end();
    if (req.url === '/huge') {
      res.writeHead(200);
      return res.write(Buffer.alloc(1 << 20)); // never ends: the probe must not wait for the body
    }
    res.writeHead(req.url === '/healthz' ? healthStatus : 404).end('x');
  });
  port = await listen(server);
  // Accepts connections and never answers.
  silent = net.createServer((socket) => open.add(socket));
  silentPort = await listen(silent);
  const closing = net.createServer();
  closedPort = await listen(closing);
  await new Promise((resolve) => closing.close(resolve));
});

afterAll(async () => {
  server.closeAllConnections();
  for (const s of open) s.destroy();
  await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => silent.close(r))]);
});

const check = (over: Partial<CheckSpec>): CheckSpec => ({
  kind: 'http',
  address: '127.0.0.1',
  port,
  path: '/healthz',
  intervalMs: 100,
  timeoutMs: 300,
  rise: 2,
  fall: 2,
  source: 'spec',
  ...over,
});
const signal = () => new AbortController().signal;

describe('probes', () => {
  it('HTTP: 2xx and 3xx are healthy, redirects are not followed, anything else fails', async () => {
    healthStatus = 204;
    expect(await httpProbe(check({}), signal())).toEqual({ ok: true });
    healthStatus = 503;
    expect(await httpProbe(check({}), signal())).toEqual({ ok: false, error: 'HTTP 503' });
    hits.length = 0;
    expect(await httpProbe(check({ path: '/redirect' }), signal())).toEqual({ ok: true });
    expect(hits).toEqual(['/redirect']);
    expect(await httpProbe(check({ path: '/missing' }), signal())).toEqual({ ok: false, error: 'HTTP 404' });
  });

  it('HTTP: does not wait for the body', async () => {
    const started = Date.now();
    expect(await httpProbe(check({ path: '/huge', timeoutMs: 2_000 }), signal())).toEqual({ ok: true });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('HTTP: a server that never answers times out', async () => {
    const started = Date.now();
    expect(await httpProbe(check({ port: silentPort, timeoutMs: 200 }), signal())).toEqual({ ok: false, error: 'timeout after 200 ms' });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('TCP: an open port is healthy, a closed one fails', async () => {
    expect(await tcpProbe(check({ kind: 'tcp', port: silentPort }), signal())).toEqual({ ok: true });
    expect(await tcpProbe(check({ kind: 'tcp', port: closedPort }), signal())).toEqual({ ok: false, error: 'connect: ECONNREFUSED' });
  });

  it('an abort ends a probe at once', async () => {
    const abort = new AbortController();
    const pending = httpProbe(check({ port: silentPort, timeoutMs: 10_000 }), abort.signal);
    abort.abort();
    expect(await pending).toEqual({ ok: false, error: 'aborted' });
  });
});

describe('HealthChecker on real probes', () => {
  it('takes a failing endpoint out after fall, back after rise, and says so', async () => {
    healthStatus = 200;
    const logger = createLogger('error', 'test');
    const counts: Array<Record<string, number>> = [];
    const observed: string[] = [];
    const checker = new HealthChecker({
      defaults: { intervalMs: 100, timeoutMs: 300, rise: 2, fall: 2, unconfigured: 'tcp' },
      concurrency: 4,
      logger,
      metrics: { observeCheck: (kind, ok) => observed.push(`${kind}:${ok}`), setEndpointCounts: (c) => counts.push(c) },
    });
    const good = ep('web', 'good', { address: '127.0.0.1', port, check: { path: '/healthz', intervalMs: 100 } });
    const dead = ep('web', 'dead', { address: '127.0.0.1', port: closedPort });
    const changes: string[] = [];
    checker.on('change', (key, status) => changes.push(`${key.split('/')[2]!.slice(0, 8)}:${status.state}`));
    checker.sync(buildModel([endpointEntry(good), endpointEntry(dead)], 1, { domain: undefined }));
    expect(checker.verdict(good)).toBeUndefined();
    expect(checker.counts()).toMatchObject({ unknown: 2 });

    const until = async (test: () => boolean, what: string) => {
      const deadline = Date.now() + 5_000;
      while (!test()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await until(() => checker.verdict(good) === 'healthy' && checker.verdict(dead) === 'unhealthy', 'first results');
    expect(checker.view(dead)).toMatchObject({ kind: 'tcp', state: 'unhealthy', lastError: 'connect: ECONNREFUSED', source: 'default' });
    expect(checker.view(good)).toMatchObject({ kind: 'http', state: 'healthy', source: 'labels', target: `http://127.0.0.1:${port}/healthz` });
    expect(checker.counts()).toEqual({ healthy: 1, unhealthy: 1, starting: 0, unknown: 0 });

    healthStatus = 500;
    const failingSince = Date.now();
    await until(() => checker.verdict(good) === 'unhealthy', 'the failing endpoint out');
    // fall 2 at 100 ms: out within two intervals plus slack.
    expect(Date.now() - failingSince).toBeLessThan(1_000);
    expect(checker.view(good)).toMatchObject({ failures: 2, lastError: 'HTTP 500' });
    healthStatus = 200;
    await until(() => checker.verdict(good) === 'healthy', 'back after rise');
    expect(checker.view(good)).toMatchObject({ successes: 2, lastError: undefined });
    // `change` only when serving changes: unknown → healthy is not one.
    const goodId = good.container.slice(0, 8);
    expect(changes.filter((c) => c.startsWith(goodId))).toEqual([`${goodId}:unhealthy`, `${goodId}:healthy`]);
    expect(observed).toContain('http:false');
    expect(observed).toContain('tcp:false');

    // Gone from the model: its check stops.
    checker.sync(buildModel([endpointEntry(good)], 2, { domain: undefined }));
    expect(checker.checks.endpoints).toBe(1);
    expect(checker.view(dead)).toBeNull();
    expect(checker.counts()).toEqual({ healthy: 1, unhealthy: 0, starting: 0, unknown: 0 });
    // A new port for the same endpoint: a fresh start.
    checker.sync(buildModel([endpointEntry({ ...good, port: closedPort })], 3, { domain: undefined }));
    expect(checker.view(good)).toMatchObject({ state: 'unknown', successes: 0 });
    await checker.stop();
    expect(checker.checks.inFlight).toBe(0);
  });
});
