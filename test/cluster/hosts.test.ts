// Docker hosts failing under a cluster of three etcd members and two routers, with a bounded
// request loop on every router: a host lost, a host frozen, dockerd restarted, a rolling deploy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet, type WebContainer, waitFor } from '../harness/index.js';
import { PREFIX, Resources } from '../router/support.js';
import { DOMAIN, describeFailures, notKilledMidAnswer, startCluster, type TestCluster, Traffic } from './support.js';

const res = new Resources();
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster(res);
}, 180_000);

afterAll(() => res.release(), 120_000);

/** `perHost` containers of `service` on every host, served by every router. */
async function deploy(service: string, perHost = 1): Promise<WebContainer[][]> {
  const placed: WebContainer[][] = [];
  for (const host of cluster.hosts) {
    const containers: WebContainer[] = [];
    for (let i = 0; i < perHost; i++) containers.push(await host.run(service));
    placed.push(containers);
  }
  await cluster.waitServedEverywhere(
    service,
    placed.flat().map((c) => c.name),
  );
  return placed;
}

/** The endpoint keys a host has registered for `service` (host-scoped, as agents write them). */
async function endpointKeys(service: string, host: string): Promise<string[]> {
  return cluster.client.getAll().prefix(`${PREFIX}/hosts/${host}/endpoints/${service}/`).keys();
}

describe('a host lost (agent SIGKILL, its containers killed)', () => {
  it('loses no request: out of rotation by health checks, its keys gone with its lease', async () => {
    const [kept, lost] = await deploy('lost', 2);
    const traffic = new Traffic(() => cluster.routers, `lost.${DOMAIN}`, { maxRequests: 20_000 });
    const host = cluster.hosts[1]!;
    expect(await endpointKeys('lost', host.name)).toHaveLength(2);
    const since = Date.now();
    try {
      await host.agent.kill9();
      await Promise.all(lost!.map((c) => c.kill()));
      const killedAt = Date.now();
      await cluster.waitServedEverywhere(
        'lost',
        kept!.map((c) => c.name),
      );
      const outMs = Date.now() - since;
      await waitFor(async () => (await endpointKeys('lost', host.name)).length === 0, { timeoutMs: 20_000, what: "the lost host's keys to expire" });
      const report = await traffic.stop();
      const forgiven = report.failures.length - notKilledMidAnswer(report.failures, killedAt).length;
      console.log(
        `host lost: served only by the other host after ${outMs} ms, keys expired after ${Date.now() - since} ms; ${report.total} requests, ${forgiven} answers cut short by the kill`,
      );
      expect(describeFailures(notKilledMidAnswer(report.failures, killedAt), since)).toEqual([]);
    } finally {
      await traffic.stop();
      await host.startAgent();
    }
  }, 60_000);
});

describe('a host hung (docker pause, agent SIGKILL)', () => {
  it('a sequential client with a 3 s timeout loses at most the request in flight and one more, and nothing after 6 s', async () => {
    const [, frozen] = await deploy('hung');
    const host = cluster.hosts[1]!;
    const failures: number[] = [];
    let total = 0;
    let stop = false;
    const paused = { at: 0 };
    // One request at a time per router, as a simple client does.
    const clients = cluster.routers.map(async (router) => {
      while (!stop) {
        total += 1;
        const r = await router.request(`hung.${DOMAIN}`, '/', { timeoutMs: 3_000 }).catch(() => undefined);
        if (r?.status !== 200) failures.push(Date.now());
      }
    });
    try {
      await waitFor(() => total >= 20, { what: 'the clients to get going' });
      await host.agent.kill9();
      paused.at = Date.now();
      await Promise.all(frozen!.map((c) => c.container.pause()));
      await waitFor(() => Date.now() - paused.at > 10_000, { timeoutMs: 12_000, intervalMs: 200, what: '10 s of traffic with the host frozen' });
    } finally {
      stop = true;
      await Promise.all(clients);
      await Promise.all(frozen!.map((c) => c.container.unpause().catch(() => undefined)));
      await host.startAgent();
    }
    const late = failures.filter((at) => at - paused.at > 6_000);
    console.log(`host hung: ${failures.length} failed of ${total} (at +${failures.map((at) => at - paused.at).join(', +')} ms)`);
    // Per router: the request in flight, and one more.
    expect(failures.length).toBeLessThanOrEqual(2 * cluster.routers.length);
    expect(late).toEqual([]);
  }, 60_000);
});

describe('dockerd restarted (live-restore)', () => {
  it('loses no request, and the host keeps its endpoints throughout', async () => {
    const placed = await deploy('dr');
    const traffic = new Traffic(() => cluster.routers, `dr.${DOMAIN}`, { maxRequests: 20_000 });
    const host = cluster.hosts[0]!;
    const since = Date.now();
    const before = await endpointKeys('dr', host.name);
    expect(before).toHaveLength(1);
    await host.engine.restart();
    await waitFor(() => host.agent.isReady(), { timeoutMs: 20_000, what: 'the agent ready on the restarted engine' });
    expect(await endpointKeys('dr', host.name)).toEqual(before);
    await cluster.waitServedEverywhere(
      'dr',
      placed.flat().map((c) => c.name),
    );
    const report = await traffic.stop();
    expect(describeFailures(report.failures, since)).toEqual([]);
  }, 90_000);
});

describe('a rolling deploy', () => {
  it('replaces every container, one at a time on each host, and loses no request', async () => {
    const old = (await deploy('roll', 2)).flat();
    const traffic = new Traffic(() => cluster.routers, `roll.${DOMAIN}`, { maxRequests: 40_000 });
    const since = Date.now();
    const current = [...old];
    for (const [i, previous] of old.entries()) {
      const host = cluster.hosts[i % cluster.hosts.length]!;
      const next = await host.run('roll', { version: 'v2' });
      current.push(next);
      await cluster.waitServedEverywhere(
        'roll',
        current.map((c) => c.name),
      );
      await previous.stop(2); // docker stop -t 2: drained at the first kill signal
      current.splice(current.indexOf(previous), 1);
      await cluster.waitServedEverywhere(
        'roll',
        current.map((c) => c.name),
      );
      await previous.remove();
    }
    const report = await traffic.stop();
    console.log(`rolling deploy of ${old.length} containers: ${report.total} requests`);
    expect(describeFailures(report.failures, since)).toEqual([]);
  }, 120_000);
});

describe('an agent restarted with --keep-lease', () => {
  it('writes nothing to etcd and the routers apply nothing', async () => {
    const placed = await deploy('keep');
    const host = cluster.hosts[0]!;
    // Its keys as etcd holds them: a write of any of them changes its mod revision.
    const hostKeys = async () =>
      (await cluster.client.getAll().prefix(`${PREFIX}/`).exec()).kvs
        .map((kv) => ({ key: kv.key.toString(), lease: kv.lease, mod: kv.mod_revision }))
        .filter((kv) => kv.key.startsWith(`${PREFIX}/hosts/${host.name}/`));
    const applies = async () => Promise.all(cluster.routers.map(async (r) => (await r.status()).targets[0].counters.applies));
    await host.agent.proc.stop('SIGTERM', 15_000); // the agent was started without --keep-lease: restart it with
    await host.startAgent(['--keep-lease']);
    await waitFor(async () => (await endpointKeys('keep', host.name)).length === 1, { what: 'the endpoint re-registered' });
    // Served again everywhere (health checks passed): nothing is left for the routers to apply.
    await cluster.waitServedEverywhere(
      'keep',
      placed.flat().map((c) => c.name),
    );
    // The routers' checks have a verdict on the re-registered endpoints: a first verdict is an apply pass.
    await waitFor(
      async () => {
        const views = await Promise.all(cluster.routers.map(async (r) => (await r.get('/v1/services/keep')).json));
        return views.every((v) => v?.endpoints?.length > 0 && v.endpoints.every((e: any) => e.healthCheck && e.healthCheck.state !== 'unknown'));
      },
      { what: "the routers' health checks to judge the re-registered endpoints" },
    );
    const traffic = new Traffic(() => cluster.routers, `keep.${DOMAIN}`, { maxRequests: 10_000 });
    const since = Date.now();
    const [keysBefore, appliesBefore] = [await hostKeys(), await applies()];
    await host.agent.proc.stop('SIGTERM', 15_000);
    await host.startAgent(['--keep-lease']);
    await waitFor(async () => (await host.agent.status()).lastSync !== undefined, { what: 'the agent synced' });
    expect(await hostKeys()).toEqual(keysBefore);
    expect(await applies()).toEqual(appliesBefore);
    const report = await traffic.stop();
    expect(describeFailures(report.failures, since)).toEqual([]);
    // Still served: the keys stayed on the lease the new agent keeps alive.
    await waitFor(async () => (await httpGet(cluster.routers[0]!.httpPort, `keep.${DOMAIN}`)).status === 200, { what: 'keep served' });
  }, 60_000);
});
