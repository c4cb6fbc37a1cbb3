// Backends outside Docker end to end (issue 14 item 2): a real etcd, the real router driving a real
// HAProxy (and nginx), endpoints written by "another registrar" (a plain etcd put with a non-Docker id
// and null optional fields) and static endpoints of a Service spec applied with the real `fabric apply`,
// served by real Node HTTP servers on 127.0.0.1 whose health the test flips.
import http from 'node:http';
import type net from 'node:net';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { startNginxRouter, waitBodies } from './nginx-support.js';
import { bodies, CLI, PREFIX, putRaw, type Resources, startRouter, useRouterSuite, waitFor, waitServed } from './support.js';

const INTERVAL_MS = 200;
const suite = useRouterSuite({
  router: { config: { healthCheck: { interval: `${INTERVAL_MS}ms`, timeout: '150ms', rise: 2, fall: 2, runner: 'router' } } },
  afterEach: async () => void (await suite.client.delete().prefix(`${PREFIX}/`).exec()),
});

/** A backend answering its name, `/healthz` as flipped, and `/slow` only once `release()` is called. */
interface Backend {
  name: string;
  port: number;
  healthy: boolean;
  /** `/slow` requests held. */
  readonly waiting: number;
  release(): void;
}

async function startBackend(res: Resources, name: string): Promise<Backend> {
  const waiting: Array<() => void> = [];
  const backend: Backend = {
    name,
    port: 0,
    healthy: true,
    get waiting() {
      return waiting.length;
    },
    release: () => {
      for (const go of waiting.splice(0)) go();
    },
  };
  const server = http.createServer((req, reply) => {
    if (req.url === '/healthz') return void reply.writeHead(backend.healthy ? 200 : 503).end(backend.healthy ? 'ok' : 'sick');
    const answer = () => reply.writeHead(200, { 'content-type': 'text/plain' }).end(name);
    if (req.url === '/slow') waiting.push(answer);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.port = (server.address() as net.AddressInfo).port;
  res.defer(
    () =>
      new Promise<void>((resolve) => {
        backend.release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return backend;
}

/** `fabric apply -f -` with these documents, against the suite's etcd. */
async function apply(documents: object[]): Promise<{ code: number; stderr: string }> {
  const input = documents.map((d) => toYaml(d)).join('---\n');
  const result = await execa(process.execPath, [CLI, 'apply', '-f', '-', '--etcd', suite.etcd.endpoint, '--etcd-prefix', PREFIX], {
    input,
    reject: false,
    timeout: 30_000,
  });
  return { code: result.exitCode ?? -1, stderr: String(result.stderr) };
}

function staticService(name: string, backends: Backend[]): object {
  return {
    kind: 'Service',
    name,
    healthCheck: { path: '/healthz', interval: `${INTERVAL_MS}ms`, rise: 2, fall: 2 },
    endpoints: backends.map((b) => ({ address: '127.0.0.1', port: b.port, weight: 100 })),
  };
}

/**
 * Sends `/slow` requests one at a time (at most 20) until `target` holds one, each waited for at some
 * backend: the requests that will be in flight when `target` leaves the spec.
 */
async function holdOn(target: Backend, all: Backend[], send: () => Promise<{ status: number; body: string }>) {
  const inFlight: Array<Promise<{ status: number; body: string }>> = [];
  while (target.waiting === 0 && inFlight.length < 20) {
    inFlight.push(send());
    const held = inFlight.length;
    await waitFor(async () => all.reduce((n, b) => n + b.waiting, 0) === held, { timeoutMs: 10_000, what: `${held} slow requests at the backends` });
  }
  expect(target.waiting).toBeGreaterThan(0);
  return inFlight;
}

async function endpointsOf(service: string): Promise<any[]> {
  const res = await suite.router.get(`/v1/services/${service}`);
  return res.status === 200 ? res.json.endpoints : [];
}

describe('endpoints from another registrar', () => {
  it('serves an endpoint with a non-Docker id and null optional fields, as a script would put it', async () => {
    const vm = await startBackend(suite.perTest, 'vm-7');
    const value = {
      service: 'legacy',
      host: 'vm-7',
      container: 'vm-7.legacy_1',
      name: 'legacy-1',
      address: '127.0.0.1',
      port: vm.port,
      weight: 100,
      version: null,
      mode: 'http',
      domains: [],
      path: null,
      tls: null,
      health: 'none',
      state: 'up',
      check: null,
    };
    await putRaw(suite.client, 'endpoints/legacy/vm-7/vm-7.legacy_1', JSON.stringify(value));
    // Its spec too, as a script writes it: null for what it does not set.
    const spec = {
      kind: 'Service',
      name: 'legacy',
      mode: null,
      domains: ['legacy.example.com'],
      paths: null,
      vip: null,
      healthCheck: { path: null, rise: null },
    };
    await putRaw(suite.client, 'services/legacy', JSON.stringify(spec));
    await waitServed(suite.router, 'legacy.example.com', ['vm-7']);
    await waitServed(suite.router, 'legacy.apps.test', ['vm-7']);
    const [listed] = await endpointsOf('legacy');
    expect(listed).toMatchObject({ host: 'vm-7', container: 'vm-7.legacy_1', port: vm.port });
    expect((await suite.router.status()).issues.filter((i: any) => i.subject.includes('legacy'))).toEqual([]);
  });
});

describe('static endpoints of a Service spec', () => {
  it('serves them, takes one out while its health fails and back after, and drains one removed from the spec', async () => {
    const [a, b] = await Promise.all([startBackend(suite.perTest, 'static-a'), startBackend(suite.perTest, 'static-b')]);
    expect(await apply([staticService('ext', [a!, b!])])).toMatchObject({ code: 0 });
    await waitServed(suite.router, 'ext.apps.test', ['static-a', 'static-b']);
    const listed = await endpointsOf('ext');
    expect(listed.map((e) => `${e.host}/${e.container}`).sort()).toEqual([`static/127.0.0.1-${a!.port}`, `static/127.0.0.1-${b!.port}`].sort());

    a!.healthy = false;
    await waitServed(suite.router, 'ext.apps.test', ['static-b']);
    await waitFor(async () => (await endpointsOf('ext')).find((e) => e.port === a!.port)?.effectiveHealth === 'unhealthy', {
      timeoutMs: 10_000,
      what: 'static-a unhealthy in /v1/services/ext',
    });
    a!.healthy = true;
    await waitServed(suite.router, 'ext.apps.test', ['static-a', 'static-b']);

    // A request in flight on static-a when it leaves the spec still gets its answer; new ones go to static-b.
    const inFlight = await holdOn(a!, [a!, b!], () => suite.router.request('ext.apps.test', '/slow', { timeoutMs: 20_000 }));
    expect(await apply([staticService('ext', [b!])])).toMatchObject({ code: 0 });
    await waitServed(suite.router, 'ext.apps.test', ['static-b']);
    a!.release();
    b!.release();
    const answers = await Promise.all(inFlight);
    expect(answers.every((r) => r.status === 200)).toBe(true);
    expect(answers.map((r) => r.body)).toContain('static-a');
    expect(new Set(await bodies(suite.router, 'ext.apps.test', 6))).toEqual(new Set(['static-b']));
  });

  it('is checked by HAProxy itself where HAProxy runs the checks', async () => {
    const router = await startRouter(suite.perTest, suite.etcd, {
      config: {
        routerId: `external-haproxy-checks-${process.pid}`,
        healthCheck: { interval: `${INTERVAL_MS}ms`, timeout: '150ms', rise: 2, fall: 2, runner: 'auto' },
      },
    });
    const [a, b] = await Promise.all([startBackend(suite.perTest, 'hc-a'), startBackend(suite.perTest, 'hc-b')]);
    expect(await apply([staticService('hcext', [a!, b!])])).toMatchObject({ code: 0 });
    await waitServed(router, 'hcext.apps.test', ['hc-a', 'hc-b']);
    expect((await router.status()).healthChecks).toMatchObject({ runBy: 'haproxy', endpoints: 2 });
    a!.healthy = false;
    await waitServed(router, 'hcext.apps.test', ['hc-b']);
    a!.healthy = true;
    await waitServed(router, 'hcext.apps.test', ['hc-a', 'hc-b']);
  });

  it('serves them through nginx, not while their health fails, and drains one removed from the spec', async () => {
    const router = await startNginxRouter(suite.perTest, suite.etcd, {
      config: { healthCheck: { interval: `${INTERVAL_MS}ms`, timeout: '150ms', rise: 2, fall: 2 } },
    });
    const [a, b] = await Promise.all([startBackend(suite.perTest, 'ng-a'), startBackend(suite.perTest, 'ng-b')]);
    expect(await apply([staticService('ngext', [a!, b!])])).toMatchObject({ code: 0 });
    await waitBodies(router, 'ngext.apps.test', ['ng-a', 'ng-b']);
    b!.healthy = false;
    await waitBodies(router, 'ngext.apps.test', ['ng-a']);
    b!.healthy = true;
    await waitBodies(router, 'ngext.apps.test', ['ng-a', 'ng-b']);

    // Removed from the spec: nginx reloads without it, and its old workers finish the requests in flight.
    const inFlight = await holdOn(b!, [a!, b!], () => router.request('ngext.apps.test', '/slow', { timeoutMs: 20_000 }));
    expect(await apply([staticService('ngext', [a!])])).toMatchObject({ code: 0 });
    await waitBodies(router, 'ngext.apps.test', ['ng-a']);
    a!.release();
    b!.release();
    const answers = await Promise.all(inFlight);
    expect(answers.every((r) => r.status === 200)).toBe(true);
    expect(answers.map((r) => r.body)).toContain('ng-b');
  });

  it('fabric apply refuses bad ones, naming document, field and reason, and writes nothing', async () => {
    const bad = [
      { endpoints: [{ address: 'backend.local', port: 80 }], field: 'endpoints.0.address', reason: 'is not an IP address' },
      { endpoints: [{ address: '127.0.0.1', port: 70_000 }], field: 'endpoints.0.port', reason: '' },
      { endpoints: [{ address: '0.0.0.0', port: 80 }], field: 'endpoints.0.address', reason: 'nothing can be served from it' },
      {
        endpoints: [
          { address: '127.0.0.1', port: 80 },
          { address: '127.0.0.1', port: 80 },
        ],
        field: 'endpoints.1',
        reason: 'duplicates endpoints.0',
      },
      { endpoints: [{ address: '127.0.0.1', port: 80, weight: -1 }], field: 'endpoints.0.weight', reason: '' },
    ];
    for (const { endpoints, field, reason } of bad) {
      const result = await apply([{ kind: 'Service', name: 'badext', endpoints }]);
      expect(result.code, result.stderr).not.toBe(0);
      expect(result.stderr).toContain('Service badext');
      expect(result.stderr).toContain(field);
      expect(result.stderr).toContain(reason);
    }
    expect(await suite.client.get(`${PREFIX}/services/badext`).string()).toBeNull();
  });
});
