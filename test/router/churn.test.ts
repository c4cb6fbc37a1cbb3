// Endpoint changes written straight into etcd: the fast path (Runtime API, no reload) and bursts.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bodies,
  deleteEndpoint,
  type EndpointJson,
  endpoint,
  isMaint,
  putEndpoint,
  type Resources,
  startWebServers,
  takesTraffic,
  useRouterSuite,
  type WebServer,
  waitFor,
} from './support.js';

// Spare backends off (`spares: 0`): the reload tests below need every new service to reload.
const suite = useRouterSuite({ router: { haproxy: { spares: 0 } } });
let servers: WebServer[];

beforeAll(async () => {
  servers = await startWebServers(suite.file, ['b0', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7']);
});

/** `address:port wN` of the endpoints that should take new requests. */
function desiredServed(endpoints: EndpointJson[]): string[] {
  return endpoints
    .filter((e) => e.state === 'up' && (e.health === 'none' || e.health === 'healthy') && e.weight > 0)
    .map((e) => `${e.address}:${e.port} w${e.weight}`)
    .sort();
}

/** What each backend port answers, to tell from a response which endpoint served it. */
const bodyByPort = new Map<number, string>();

function bodyOf(e: EndpointJson): string {
  const body = bodyByPort.get(e.port) ?? servers.find((s) => s.port === e.port)?.body;
  if (body === undefined) throw new Error(`no test server on port ${e.port}`);
  return body;
}

/**
 * HAProxy (its running state, the file on disk and real responses) matches `endpoints`:
 * exactly the serving ones take requests, nothing else does.
 */
async function expectServing(service: string, endpoints: EndpointJson[], revision: number): Promise<void> {
  await suite.router.waitApplied(revision);
  const backend = `svc_${service}`;
  expect(await suite.router.servedSet(backend)).toEqual(desiredServed(endpoints));
  // Every server HAProxy runs that is not an endpoint of ours is in maintenance.
  const known = new Set(endpoints.map((e) => `${e.address}:${e.port}`));
  for (const s of await suite.router.serversState(backend)) {
    if (!known.has(`${s.address}:${s.port}`)) expect(takesTraffic(s), `${s.name} ${s.address}:${s.port}`).toBe(false);
  }
  // The file on disk says the same once the deferred write ran (after the burst), so a later reload changes nothing.
  for (const e of endpoints.filter((x) => x.state === 'up' && x.health === 'none')) {
    await expect.poll(() => suite.router.config(), { timeout: 5_000 }).toContain(`${e.address}:${e.port} weight ${e.weight}`);
  }
  const wanted = endpoints
    .filter((e) => desiredServed([e]).length > 0)
    .map(bodyOf)
    .sort();
  const seen = new Set(await bodies(suite.router, `${service}.apps.test`, Math.max(12, wanted.length * 6)));
  expect([...seen].sort()).toEqual(wanted);
}

describe('endpoint churn through etcd', () => {
  it('applies add, remove, weight, drain and health changes with zero HAProxy reloads', async () => {
    const [a, b, c, d] = [0, 1, 2, 3].map((i) => endpoint({ service: 'churn', port: servers[i]!.port }));
    let live = [a!, b!];
    await putEndpoint(suite.client, a!);
    const rev = await putEndpoint(suite.client, b!);
    await expectServing('churn', live, rev);
    const before = await suite.router.reloads();
    const runtimeBefore = (await suite.router.target()).counters.runtimeUpdates;
    const commandsBefore = await suite.router.metric('fabric_router_runtime_api_commands_total');

    const steps: Array<[string, () => Promise<number>]> = [
      [
        'add c',
        async () => {
          live = [...live, c!];
          return putEndpoint(suite.client, c!);
        },
      ],
      [
        'weight a 100 → 50',
        async () => {
          a!.weight = 50;
          return putEndpoint(suite.client, a!);
        },
      ],
      [
        'drain b',
        async () => {
          b!.state = 'draining';
          return putEndpoint(suite.client, b!);
        },
      ],
      [
        'remove c',
        async () => {
          live = live.filter((e) => e !== c);
          return deleteEndpoint(suite.client, c!);
        },
      ],
      [
        'add d (takes the freed slot)',
        async () => {
          live = [...live, d!];
          return putEndpoint(suite.client, d!);
        },
      ],
      [
        'd unhealthy',
        async () => {
          d!.health = 'unhealthy';
          return putEndpoint(suite.client, d!);
        },
      ],
      [
        'undrain b, d healthy',
        async () => {
          b!.state = 'up';
          d!.health = 'healthy';
          await putEndpoint(suite.client, b!);
          return putEndpoint(suite.client, d!);
        },
      ],
      [
        'weight 0 on a',
        async () => {
          a!.weight = 0;
          return putEndpoint(suite.client, a!);
        },
      ],
      [
        'a moves to another port',
        async () => {
          a!.port = servers[4]!.port;
          a!.weight = 100;
          return putEndpoint(suite.client, a!);
        },
      ],
      [
        'remove b',
        async () => {
          live = live.filter((e) => e !== b);
          return deleteEndpoint(suite.client, b!);
        },
      ],
    ];
    for (const [what, step] of steps) {
      const revision = await step();
      await expectServing('churn', live, revision).catch((error: Error) => {
        error.message = `after "${what}": ${error.message}`;
        throw error;
      });
    }

    const after = await suite.router.reloads();
    expect(after.master, 'HAProxy master reload counter').toBe(before.master);
    expect(after.metric, 'fabric_router_reloads_total').toBe(before.metric);
    expect(after.failed).toBe(0);
    const target = await suite.router.target();
    expect(target.counters.runtimeUpdates - runtimeBefore).toBeGreaterThanOrEqual(steps.length);
    expect(target.lastApply.action).toBe('runtime');
    expect(await suite.router.metric('fabric_router_runtime_api_commands_total')).toBeGreaterThan(commandsBefore);
    expect(await suite.router.metric('fabric_router_event_to_applied_seconds_count')).toBeGreaterThan(steps.length);
  });

  it('changes domains and path prefixes through the host and path maps, with no reload', async () => {
    const site = endpoint({ service: 'site', port: servers[6]!.port });
    const api = endpoint({ service: 'api', port: servers[7]!.port });
    await putEndpoint(suite.client, site);
    await suite.router.waitApplied(await putEndpoint(suite.client, api));
    expect((await suite.router.request('site.apps.test')).body).toBe('b6');
    // Host matching ignores case and a port.
    expect((await suite.router.request('SITE.Apps.Test:8080')).body).toBe('b6');
    const before = await suite.router.reloads();

    site.domains = ['www.example.com', 'example.com'];
    await suite.router.waitApplied(await putEndpoint(suite.client, site));
    for (const host of ['www.example.com', 'example.com', 'site.apps.test']) expect((await suite.router.request(host)).body, host).toBe('b6');

    // api moves under a path prefix of the site's domain, and off its own host's root.
    api.domains = ['www.example.com'];
    api.path = '/api';
    await suite.router.waitApplied(await putEndpoint(suite.client, api));
    expect((await suite.router.request('www.example.com', '/api/users')).body).toBe('b7');
    expect((await suite.router.request('www.example.com', '/')).body).toBe('b6');
    expect((await suite.router.request('api.apps.test', '/api')).body).toBe('b7');
    expect((await suite.router.request('api.apps.test', '/')).status).toBe(404);

    // Domain dropped again: 404 there, the rest unchanged.
    site.domains = ['www.example.com'];
    await suite.router.waitApplied(await putEndpoint(suite.client, site));
    expect((await suite.router.request('example.com')).status).toBe(404);
    expect((await suite.router.request('www.example.com')).body).toBe('b6');

    const after = await suite.router.reloads();
    expect(after.master, 'HAProxy master reload counter').toBe(before.master);
    expect(after.metric).toBe(before.metric);
    // The map files on disk match what HAProxy runs, for the next reload (other tests' services left out).
    const mapLines = (file: string) =>
      fs
        .readFileSync(path.join(suite.router.dir, file), 'utf8')
        .split('\n')
        .filter((l) => / svc_(site|api)$/.test(l));
    // Written after the burst (lb/deferred-write.ts), not with each change.
    await expect.poll(() => mapLines('hosts.map'), { timeout: 5_000 }).toEqual(['site.apps.test svc_site', 'www.example.com svc_site']);
    await expect.poll(() => mapLines('paths.map'), { timeout: 5_000 }).toEqual(['www.example.com/api svc_api', 'api.apps.test/api svc_api']);
  });

  it('lets a draining endpoint finish its in-flight request and gives it no new ones', async () => {
    const [slowServer] = await startSlow(suite.file, 'slow');
    const fast = endpoint({ service: 'drain', port: servers[5]!.port });
    const slow = endpoint({ service: 'drain', port: slowServer!.port });
    await putEndpoint(suite.client, fast);
    await expectServing('drain', [fast, slow], await putEndpoint(suite.client, slow));
    const before = await suite.router.reloads();

    // Round-robin until a request lands on the slow server and hangs there.
    slowServer!.hold();
    const inFlight: Array<Promise<{ status: number; body: string }>> = [];
    await waitFor(
      async () => {
        inFlight.push(suite.router.request('drain.apps.test', '/', { timeoutMs: 15_000 }));
        return slowServer!.waiting.length > 0;
      },
      { what: 'a request held by the slow server' },
    );
    slow.state = 'draining';
    const rev = await putEndpoint(suite.client, slow);
    await suite.router.waitApplied(rev);
    expect(await suite.router.servedSet('svc_drain')).toEqual(desiredServed([fast, slow]));
    const held = slowServer!.waiting.length;
    expect(new Set(await bodies(suite.router, 'drain.apps.test', 10))).toEqual(new Set(['b5']));
    expect(slowServer!.waiting.length, 'no new request reached the draining server').toBe(held);
    slowServer!.release();
    const answers = await Promise.all(inFlight);
    expect(answers.filter((r) => r.status !== 200)).toEqual([]);
    expect(answers.map((r) => r.body)).toContain('slow');
    expect((await suite.router.reloads()).master).toBe(before.master);
  });

  it('ends on exactly the final state after 20 changes 5 ms apart', async () => {
    const eps = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => endpoint({ service: 'burst', port: servers[i]!.port }));
    const before = await suite.router.reloads();
    // A scripted burst: weights rise, endpoints come and go (past the 4 initial slots, so the
    // backend grows and HAProxy must reload in the middle of it), some drain.
    const live = new Map<string, EndpointJson>();
    const script: Array<() => Promise<number>> = [];
    for (let i = 0; i < 20; i++) {
      const e = eps[i % eps.length]!;
      script.push(async () => {
        if (i % 7 === 6 && live.has(e.container)) {
          live.delete(e.container);
          return deleteEndpoint(suite.client, e);
        }
        e.weight = 10 + i;
        e.state = i % 5 === 4 ? 'draining' : 'up';
        live.set(e.container, { ...e });
        return putEndpoint(suite.client, { ...e });
      });
    }
    let lastRevision = 0;
    const started = Date.now();
    for (let i = 0; i < script.length; i++) {
      await pace(started + i * 5 - Date.now());
      lastRevision = await script[i]!();
    }
    const final = [...live.values()];
    expect(final.length).toBeGreaterThan(4);

    await waitFor(async () => JSON.stringify(await suite.router.servedSet('svc_burst')) === JSON.stringify(desiredServed(final)), {
      timeoutMs: 10_000,
      what: 'HAProxy serving the final state',
    });
    await expectServing('burst', final, lastRevision);
    const state = await suite.router.serversState('svc_burst');
    for (const e of final) {
      const s = state.find((x) => x.address === e.address && x.port === e.port);
      expect(s, `${e.port} in HAProxy`).toBeDefined();
      // Draining: alive for what it has in flight, no new requests. The Runtime API says so with
      // the drain state; a reload in between says it with weight 0 in the file.
      expect(isMaint(s!), `${e.port} in maintenance`).toBe(false);
      expect(takesTraffic(s!), `${e.port} takes new requests`).toBe(e.state === 'up');
      if (e.state === 'up') expect(s!.weight).toBe(e.weight);
    }
    const after = await suite.router.reloads();
    expect(after.failed).toBe(0);
    expect(after.master - before.master, 'reloads for slot growth only').toBeLessThanOrEqual(2);
    // The router's and HAProxy's counts agree: every reload it did was verified.
    expect(after.metric - before.metric).toBe(after.master - before.master);
  });

  it('ends with every backend loaded after 20 reload-requiring changes 5 ms apart', async () => {
    const before = await suite.router.reloads();
    const names = Array.from({ length: 20 }, (_, i) => `svc${i}`);
    const started = Date.now();
    let lastRevision = 0;
    for (let i = 0; i < names.length; i++) {
      await pace(started + i * 5 - Date.now());
      lastRevision = await putEndpoint(suite.client, endpoint({ service: names[i]!, port: servers[i % servers.length]!.port }));
    }
    await suite.router.waitApplied(lastRevision);
    // Each new service is a new backend: reloads, coalesced, serialized and each verified.
    const after = await suite.router.reloads();
    expect(after.failed).toBe(0);
    expect(after.master).toBeGreaterThan(before.master);
    expect(after.master - before.master).toBeLessThan(20);
    expect(after.metric - before.metric).toBe(after.master - before.master);
    const backends = new Set((await suite.router.serversState()).map((s) => s.backend));
    for (const name of names) expect(backends.has(`svc_${name}`), name).toBe(true);
    for (let i = 0; i < names.length; i++) {
      const res = await suite.router.request(`${names[i]}.apps.test`);
      expect(res.status, names[i]).toBe(200);
      expect(res.body).toBe(servers[i % servers.length]!.body);
    }
  });
});

function pace(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

interface SlowServer {
  port: number;
  waiting: http.ServerResponse[];
  /** From now on, hold every request until release(). */
  hold(): void;
  release(): void;
}

/** A server that answers at once, or, between hold() and release(), holds every request. */
async function startSlow(res: Resources, body: string): Promise<SlowServer[]> {
  const waiting: http.ServerResponse[] = [];
  let holding = false;
  const server = http.createServer((_req, reply) => {
    if (!holding) return reply.end(body);
    waiting.push(reply);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  res.defer(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const port = (server.address() as { port: number }).port;
  bodyByPort.set(port, body);
  const slow: SlowServer = {
    port,
    waiting,
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const reply of waiting) reply.end(body);
    },
  };
  return [slow];
}
