// e) Docker start → served through HAProxy: the agent and the router together, busybox containers
// (host network on a loopback port known in advance, so the container's own start can be timed
// directly on that port while HAProxy is polled at the same time).
import type { Namespace } from 'etcd3';
import { runWeb, type WebContainer } from '../test/harness/containers.js';
import { startEtcd } from '../test/harness/etcd.js';
import { freePort } from '../test/harness/ports.js';
import { waitFor } from '../test/harness/wait.js';
import { benchDocker, subscribeStarts } from './lib/docker.js';
import {
  agentEndpointsPrefix,
  DOMAIN,
  endpoint,
  etcdClient,
  get,
  pollServed,
  revision,
  scrape,
  startAgent,
  startRouter,
  total,
  txn,
  waitApplied,
} from './lib/fabric.js';
import { type Figure, latencyFigures, nowMs, sleep } from './lib/report.js';
import { Cleanup } from './lib/util.js';

const E_SAMPLES = 20;
const SERVICE = 'bench-e';

/** The keys the agent wrote for `service` (host-scoped; the placeholder endpoint is not among them). */
async function keysOf(kv: Namespace, service: string): Promise<string[]> {
  return kv.getAll().prefix(agentEndpointsPrefix(service, service)).keys();
}

export async function benchDockerToServed(): Promise<Figure[]> {
  const cleanup = new Cleanup();
  try {
    const { docker, dockerHost } = await benchDocker();
    const etcd = await startEtcd({ name: 'bench-etcd-e' });
    cleanup.defer('etcd', () => etcd.stop());
    const { client, kv } = etcdClient(etcd.endpoint);
    cleanup.defer('etcd client', () => client.close());
    const router = await startRouter({ etcd: etcd.endpoint, name: 'bench-router-e' });
    cleanup.defer('router', () => router.stop());
    const agent = await startAgent({ etcd: etcd.endpoint, dockerHost, hostName: 'bench-e', name: 'bench-agent-e' });
    cleanup.defer('agent', () => agent.stop());
    const starts = await subscribeStarts(docker);
    cleanup.defer('events', () => starts.close());
    const containers: WebContainer[] = [];
    cleanup.defer('containers', () => Promise.all(containers.map((c) => c.remove())));
    await waitFor(async () => (await get(agent.apiPort, '/readyz')).status === 200, { timeoutMs: 30_000, what: 'agent /readyz' });

    // A placeholder endpoint in maintenance (health "unhealthy": never served) keeps the service's
    // backend in HAProxy between containers, so each new container is a runtime update (no reload)
    // and, being the only server that can answer, the first answer with its body is its first request.
    const placed = await txn(kv, [endpoint({ service: SERVICE, host: 'placeholder', port: 1, health: 'unhealthy' })]);
    const host = `${SERVICE}.${DOMAIN}`;
    await waitApplied(router, placed);
    await waitFor(async () => (await get(router.httpPort, '/', host)).status === 503, { timeoutMs: 15_000, what: 'the placeholder backend' });

    const served: number[] = [];
    const own: number[] = [];
    const ownFromEvent: number[] = [];
    const beyond: number[] = [];
    const held: string[] = [];
    let failures = 0;
    let previous: WebContainer | undefined;
    const reloadsBefore = total(await scrape(router.apiPort), 'fabric_router_reloads_total');
    for (let i = 0; i <= E_SAMPLES; i++) {
      if (previous) {
        // Remove the previous container and wait until etcd and HAProxy no longer have it.
        const gone = previous;
        await gone.remove();
        await waitFor(async () => (await keysOf(kv, SERVICE)).length === 0, { timeoutMs: 15_000, what: 'previous endpoint removed' });
        await waitFor(async () => (await get(router.httpPort, '/', host)).status === 503, { timeoutMs: 15_000, what: 'previous endpoint out of HAProxy' });
        await sleep(50);
      }
      const port = await freePort();
      const body = `e-${i}-${port}`;
      const direct = pollServed(port, undefined, body, { timeoutMs: 20_000 });
      let requestMs = 0;
      const viaHaproxy = pollServed(router.httpPort, host, body, { timeoutMs: 20_000, onServed: (took) => (requestMs = took) });
      const calledAt = nowMs();
      const web = await runWeb(docker, {
        name: `bench-e-${i}`,
        labels: { 'fabric.service': SERVICE, 'fabric.port': String(port) },
        hostNetwork: { port },
        body,
      });
      containers.push(web);
      previous = web;
      const [directAt, servedAt, startedAt] = await Promise.all([direct, viaHaproxy, starts.waitFor(web.id, 10_000)]);
      if (i === 0) continue; // warm-up
      if (directAt === undefined || servedAt === undefined || startedAt === undefined) {
        failures += 1;
        continue;
      }
      served.push(servedAt - startedAt);
      own.push(directAt - calledAt);
      ownFromEvent.push(directAt - startedAt);
      beyond.push(servedAt - directAt);
      if (requestMs >= 500) held.push(`#${i}: ${requestMs.toFixed(0)} ms`);
    }
    await waitApplied(router, await revision(kv));
    const reloads = total(await scrape(router.apiPort), 'fabric_router_reloads_total') - reloadsBefore;
    return [
      ...latencyFigures(
        'e',
        'Docker start event → served through HAProxy',
        served,
        { p50: '≤ 100 ms beyond own start', p99: '≤ 300 ms beyond own start' },
        failures,
      ),
      ...latencyFigures('e', 'served through HAProxy − answering directly (beyond its own start)', beyond, { p50: '≤ 100 ms', p99: '≤ 300 ms' }),
      ...latencyFigures('e', "container's own start: create+start call → its port answers", own).slice(0, 2),
      ...latencyFigures('e', "container's own start: start event → its port answers", ownFromEvent).slice(0, 2),
      { id: 'e', name: 'HAProxy reloads during the samples (removals and starts)', value: String(reloads), target: '0 (fast path)' },
      { id: 'e', name: 'samples whose first served request was itself held ≥ 500 ms by HAProxy', value: held.length ? held.join(', ') : 'none' },
      { id: 'e', name: 'resolution of the figures above (poll gap + one request)', value: '≈ 1-2 ms' },
    ];
  } finally {
    await cleanup.run();
  }
}
