// The events timeline, hosts and problems against real components: the test dockerd, `fabric
// agent`, `fabric router` with HAProxy, a real etcd stopped and started again.
import { beforeAll, describe, expect, it } from 'vitest';
import { removeAllContainers, runWeb, type WebContainer } from '../harness/index.js';
import { type RunningAgent, startAgent, testDocker, useRouterSuite, waitFor } from './support.js';

// No spare servers: a new service's backend is a reload, so the timeline shows one.
const suite = useRouterSuite({ router: { haproxy: { spares: 0 } } });
let agent: RunningAgent;

beforeAll(async () => {
  agent = await startAgent(suite.file, suite.etcd);
});

async function web(service: string, labels: Record<string, string> = {}): Promise<WebContainer> {
  const c = await runWeb(testDocker().docker, { labels: { 'fabric.service': service, ...labels }, body: service });
  suite.perTest.defer(() => c.remove());
  return c;
}

interface Event {
  id: number;
  at: string;
  kind: string;
  service?: string;
  endpoint?: string;
  host?: string;
  target?: string;
  message: string;
  detail?: Record<string, unknown>;
}

async function timeline(query = ''): Promise<Event[]> {
  const res = await suite.router.get(`/v1/timeline${query}`);
  expect(res.status).toBe(200);
  return res.json.events;
}

/** Reads `/v1/events` in the background; `events()` is every `event: timeline` event so far, in arrival order. */
function timelineStream(): { events(): Event[]; messages(): number; close(): void } {
  const abort = new AbortController();
  let text = '';
  const reading = (async () => {
    const response = await fetch(`${suite.router.url}/v1/events`, { signal: abort.signal });
    const decoder = new TextDecoder();
    for await (const chunk of response.body!) text += decoder.decode(chunk as Uint8Array, { stream: true });
  })().catch(() => undefined);
  suite.perTest.defer(() => {
    abort.abort();
    return reading;
  });
  const messages = () => [...text.matchAll(/event: timeline\ndata: (.*)\n\n/g)].map((m) => JSON.parse(m[1]!).events as Event[]);
  return { events: () => messages().flatMap((events) => [...events].reverse()), messages: () => messages().length, close: () => abort.abort() };
}

describe('events timeline, hosts and problems', () => {
  it('a docker stop shows as endpoint.draining then endpoint.removed; the new backend as a reload', async () => {
    const stream = timelineStream();
    const c = await web('tl-stop');
    const registered = await waitFor(async () => (await timeline('?service=tl-stop&kind=endpoint.registered')).find((e) => e.endpoint?.endsWith(c.id)), {
      timeoutMs: 15_000,
      what: 'endpoint.registered on the timeline',
    });
    expect(registered).toMatchObject({ service: 'tl-stop', host: agent.hostName, endpoint: `tl-stop/${agent.hostName}/${c.id}` });
    expect(Date.parse(registered.at)).not.toBeNaN();
    await waitFor(async () => (await timeline('?kind=reload')).some((e) => e.target && e.id > registered.id && e.detail?.action === 'reload'), {
      timeoutMs: 15_000,
      what: 'the reload that added the backend',
    });

    // Busybox ignores SIGTERM: draining at the kill, removed when docker kills it 2 s later.
    await c.stop(2);
    const events = await waitFor(
      async () => {
        const mine = (await timeline('?service=tl-stop&kind=endpoint')).filter((e) => e.endpoint === registered.endpoint);
        return mine.some((e) => e.kind === 'endpoint.removed') ? mine : undefined;
      },
      { timeoutMs: 15_000, what: 'endpoint.removed on the timeline' },
    );
    // Newest first: removed, draining, registered.
    expect(events.map((e) => e.kind)).toEqual(['endpoint.removed', 'endpoint.draining', 'endpoint.registered']);
    expect(events[0]!.id).toBeGreaterThan(events[1]!.id);
    expect(events[1]).toMatchObject({ service: 'tl-stop', detail: { state: 'draining' } });
    // The event stream carried the same events, in the same order.
    const pushed = await waitFor(
      async () => {
        const mine = stream.events().filter((e) => e.endpoint === registered.endpoint);
        return mine.length >= 3 ? mine : undefined;
      },
      { timeoutMs: 5_000, what: 'the endpoint events on /v1/events' },
    );
    expect(pushed.map((e) => e.kind)).toEqual(['endpoint.registered', 'endpoint.draining', 'endpoint.removed']);
    stream.close();
    // The filters: a prefix, a comma list, since an id, a limit.
    expect((await timeline(`?kind=endpoint.removed,reload&since=${registered.id}&limit=1`)).map((e) => e.kind)).toEqual(['endpoint.removed']);
    expect((await suite.router.get('/v1/timeline?since=yesterday')).status).toBe(400);
  });

  it("/v1/hosts: the agent's host alive, with containers registered and rejected; a stopped agent's host gone", async () => {
    await web('tl-good');
    await web('tl-bad', { 'fabric.port': 'not-a-port' });
    const host = await waitFor(
      async () => {
        const hosts = (await suite.router.get('/v1/hosts')).json.hosts as any[];
        const mine = hosts.find((h) => h.host === agent.hostName);
        return mine?.containers?.registered === 1 && mine.containers.rejected === 1 ? mine : undefined;
      },
      { timeoutMs: 15_000, what: "the agent's host with 1 registered and 1 rejected" },
    );
    expect(host).toMatchObject({ address: '127.0.0.1', alive: true, agentVersion: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(Date.parse(host.started)).not.toBeNaN();
    expect(Date.parse(host.updatedAt)).not.toBeNaN();
    // The refused container is a problem too (a warning).
    await waitFor(async () => ((await suite.router.status()).problems as any[]).some((p) => p.severity === 'warning' && p.code === 'FABRIC_ERR_LABEL'), {
      timeoutMs: 10_000,
      what: 'the rejected container among the problems',
    });

    // A second agent comes and goes: host.up, then host.down and alive: false once its key is gone.
    const other = await startAgent(suite.perTest, suite.etcd, { hostName: `tl-other-${process.pid}` });
    await waitFor(async () => (await timeline('?kind=host.up')).some((e) => e.host === other.hostName), { timeoutMs: 15_000, what: 'host.up' });
    await other.stop();
    await waitFor(async () => (await timeline('?kind=host.down')).some((e) => e.host === other.hostName), { timeoutMs: 20_000, what: 'host.down' });
    const gone = ((await suite.router.get('/v1/hosts')).json.hosts as any[]).find((h) => h.host === other.hostName);
    expect(gone).toMatchObject({ alive: false });
    await removeAllContainers(testDocker().docker);
  });

  it("an endpoint failing its health check shows as health.down with the check's reason", async () => {
    const c = await web('tl-sick', { 'fabric.health.path': '/missing', 'fabric.health.interval': '1s' });
    const down = await waitFor(
      async () => (await timeline('?service=tl-sick&kind=health')).find((e) => e.endpoint?.endsWith(c.id) && e.kind === 'health.down'),
      {
        timeoutMs: 20_000,
        what: 'health.down on the timeline',
      },
    );
    expect(down).toMatchObject({
      service: 'tl-sick',
      host: agent.hostName,
      detail: { source: 'check', state: 'unhealthy', container: c.id, error: 'HTTP 404' },
    });
    // And the service has no ready endpoint now: a warning.
    await waitFor(
      async () => ((await suite.router.status()).problems as any[]).some((p) => p.subject === 'services/tl-sick' && p.code === 'FABRIC_ERR_NO_READY_ENDPOINT'),
      {
        timeoutMs: 10_000,
        what: 'the sick service among the problems',
      },
    );
  });

  it('etcd stopped: a critical problem and etcd.lost; started again: etcd.restored', async () => {
    await suite.etcd.stop({ keepData: true });
    try {
      const problems = await waitFor(
        async () => {
          const p = (await suite.router.status()).problems as any[];
          return p[0]?.code === 'FABRIC_ERR_ETCD_UNAVAILABLE' ? p : undefined;
        },
        { timeoutMs: 20_000, what: 'the etcd problem first in /v1/status' },
      );
      expect(problems[0]).toMatchObject({ severity: 'critical', subject: 'etcd' });
      await waitFor(async () => (await timeline('?kind=etcd')).some((e) => e.kind === 'etcd.lost'), { timeoutMs: 20_000, what: 'etcd.lost' });
    } finally {
      await suite.etcd.start();
    }
    const etcdEvents = await waitFor(
      async () => {
        const events = await timeline('?kind=etcd');
        return events[0]?.kind === 'etcd.restored' ? events : undefined;
      },
      { timeoutMs: 30_000, what: 'etcd.restored' },
    );
    expect(etcdEvents.map((e) => e.kind).slice(0, 2)).toEqual(['etcd.restored', 'etcd.lost']);
    await waitFor(async () => !((await suite.router.status()).problems as any[]).some((p) => p.code === 'FABRIC_ERR_ETCD_UNAVAILABLE'), {
      timeoutMs: 15_000,
      what: 'the etcd problem gone',
    });
  });
});
