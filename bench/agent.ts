// Agent benchmarks (issue 2), against a private dockerd and a private etcd:
//  a) Docker `start` event → endpoint key visible in etcd, 50 containers one by one
//  b) agent started on a host already running 200 labelled containers → all registered
//  c) etcd writes during resyncs that find no change
import { removeAllContainers, runWeb } from '../test/harness/containers.js';
import { startEtcd } from '../test/harness/etcd.js';
import { waitFor } from '../test/harness/wait.js';
import { benchDocker, subscribeStarts } from './lib/docker.js';
import { agentEndpointsPrefix, etcdClient, type FabricProcess, get, revision, scrape, startAgent, total } from './lib/fabric.js';
import { type Figure, latencyFigures, ms, nowMs } from './lib/report.js';
import { Arrivals, Cleanup, mapLimit } from './lib/util.js';

const A_CONTAINERS = 50;
const B_CONTAINERS = 200;
const C_RESYNCS = 3;

async function agentReady(agent: FabricProcess): Promise<void> {
  await waitFor(async () => (await get(agent.apiPort, '/readyz')).status === 200, { timeoutMs: 30_000, intervalMs: 20, what: 'agent /readyz' });
}

/** a) `start` event (Docker's own timeNano) → the endpoint key arrives on an etcd watch, same clock. */
export async function benchStartToEtcd(): Promise<Figure[]> {
  const cleanup = new Cleanup();
  try {
    const { docker, dockerHost } = await benchDocker();
    const etcd = await startEtcd({ name: 'bench-etcd-a' });
    cleanup.defer('etcd', () => etcd.stop());
    const { client, kv } = etcdClient(etcd.endpoint);
    cleanup.defer('etcd client', () => client.close());
    const keys = new Arrivals();
    const watcher = await kv.watch().prefix(agentEndpointsPrefix('bench-a', 'bench-a')).create();
    cleanup.defer('watch', () => watcher.cancel());
    watcher.on('put', (entry) => keys.note(entry.key.toString().split('/').pop()!, nowMs()));
    const starts = await subscribeStarts(docker);
    cleanup.defer('events', () => starts.close());
    const agent = await startAgent({ etcd: etcd.endpoint, dockerHost, hostName: 'bench-a', name: 'bench-agent-a' });
    cleanup.defer('agent', () => agent.stop());
    cleanup.defer('containers', () => removeAllContainers(docker));
    await agentReady(agent);

    const samples: number[] = [];
    let failures = 0;
    for (let i = 0; i < A_CONTAINERS; i++) {
      const web = await runWeb(docker, { name: `bench-a-${i}`, labels: { 'fabric.service': 'bench-a' } });
      const [started, seen] = await Promise.all([starts.waitFor(web.id, 10_000), keys.waitFor(web.id, 10_000)]);
      if (started === undefined || seen === undefined) failures += 1;
      else samples.push(seen - started);
    }
    const hist = await scrape(agent.apiPort);
    const count = total(hist, 'fabric_agent_event_to_etcd_seconds_count');
    const sum = total(hist, 'fabric_agent_event_to_etcd_seconds_sum');
    const within20 = total(hist, 'fabric_agent_event_to_etcd_seconds_bucket', { le: '0.02' });
    const events = [...hist].filter(([k]) => k.startsWith('fabric_agent_docker_events_total')).map(([k, v]) => `${/action="([^"]+)"/.exec(k)?.[1]}=${v}`);
    return [
      ...latencyFigures('a', `start event → key in etcd (${A_CONTAINERS} containers, one by one)`, samples, { p50: '≤ 20 ms', p99: '≤ 100 ms' }, failures),
      {
        id: 'a',
        name: "agent's own fabric_agent_event_to_etcd_seconds: mean; observations ≤ 20 ms",
        value: `${ms((sum / count) * 1000)}; ${within20} of ${count}`,
      },
      { id: 'a', name: 'Docker events the agent received, by action', value: events.join(' ') },
    ];
  } finally {
    await cleanup.run();
  }
}

/** b) and c): 200 labelled containers first, then the agent; then resyncs that find nothing to do. */
export async function benchColdStartAndResync(): Promise<Figure[]> {
  const cleanup = new Cleanup();
  try {
    const { docker, dockerHost } = await benchDocker();
    const etcd = await startEtcd({ name: 'bench-etcd-b' });
    cleanup.defer('etcd', () => etcd.stop());
    const { client, kv } = etcdClient(etcd.endpoint);
    cleanup.defer('etcd client', () => client.close());
    cleanup.defer('containers', () => removeAllContainers(docker));

    const createdAt = nowMs();
    await mapLimit(
      Array.from({ length: B_CONTAINERS }, (_, i) => i),
      8,
      (i) => runWeb(docker, { name: `bench-b-${i}`, labels: { 'fabric.service': 'bench-b' } }),
    );
    const createMs = nowMs() - createdAt;

    const keys = new Arrivals();
    let allAt: number | undefined;
    const watcher = await kv.watch().prefix(agentEndpointsPrefix('bench-b', 'bench-b')).create();
    cleanup.defer('watch', () => watcher.cancel());
    watcher.on('put', (entry) => {
      keys.note(entry.key.toString(), nowMs());
      if (keys.times.size === B_CONTAINERS) allAt ??= nowMs();
    });

    const agent = await startAgent({ etcd: etcd.endpoint, dockerHost, hostName: 'bench-b', resync: '1s', name: 'bench-agent-b' });
    cleanup.defer('agent', () => agent.stop());
    const connectedLine = await agent.proc.waitForLine(/Docker event stream connected/, 30_000);
    const connectedAt = Date.parse((JSON.parse(connectedLine) as { time: string }).time);
    await waitFor(() => allAt !== undefined, { timeoutMs: 60_000, intervalMs: 10, what: `${B_CONTAINERS} keys in etcd` });
    const figures: Figure[] = [
      { id: 'b', name: `agent spawned → all ${B_CONTAINERS} registered`, value: ms(allAt! - agent.spawnedAt), target: '≤ 2 s' },
      { id: 'b', name: `"Docker event stream connected" (its log time) → all ${B_CONTAINERS} registered`, value: ms(allAt! - connectedAt) },
      { id: 'b', name: 'agent spawned → "Docker event stream connected" (process start-up)', value: ms(connectedAt - agent.spawnedAt) },
      { id: 'b', name: `(setup: creating and starting the ${B_CONTAINERS} containers, 8 at a time)`, value: ms(createMs) },
    ];

    // c) Let one resync settle, then count what the next ones write.
    const resyncs = async () => total(await scrape(agent.apiPort), 'fabric_agent_resyncs_total');
    // The agent's API listens once its first sync is done (fastify loads after it): wait for it.
    const { first } = await waitFor(
      async () =>
        resyncs().then(
          (n) => ({ first: n }),
          () => undefined,
        ),
      {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: "the agent's API",
      },
    );
    await waitFor(async () => (await resyncs()) >= first + 1, { timeoutMs: 20_000, intervalMs: 100, what: 'a resync' });
    const before = await scrape(agent.apiPort);
    const revBefore = await revision(kv);
    const target = total(before, 'fabric_agent_resyncs_total') + C_RESYNCS;
    await waitFor(async () => (await resyncs()) >= target, { timeoutMs: 30_000, intervalMs: 100, what: `${C_RESYNCS} resyncs` });
    const after = await scrape(agent.apiPort);
    const revAfter = await revision(kv);
    const writes = (m: Map<string, number>, op: string) => total(m, 'fabric_agent_etcd_writes_total', { op });
    const writesSoFar = `${writes(after, 'put')} puts, ${writes(after, 'delete')} deletes in ${total(after, 'fabric_agent_etcd_txns_total')} txns`;
    const resyncsSeen = total(after, 'fabric_agent_resyncs_total') - total(before, 'fabric_agent_resyncs_total');
    figures.push(
      { id: 'c', name: `resyncs observed (--resync-interval 1s, ${B_CONTAINERS} containers, nothing changed)`, value: String(resyncsSeen) },
      { id: 'c', name: 'etcd revision change over those resyncs', value: `${revAfter - revBefore} (rev ${revBefore} → ${revAfter})`, target: 'exactly 0' },
      {
        id: 'c',
        name: 'fabric_agent_etcd_writes_total change (put / delete)',
        value: `${writes(after, 'put') - writes(before, 'put')} / ${writes(after, 'delete') - writes(before, 'delete')}`,
        target: 'exactly 0',
      },
      { id: 'c', name: "(the agent's writes since it started, for scale)", value: writesSoFar },
    );
    return figures;
  } finally {
    await cleanup.run();
  }
}

export async function agentBenchmarks(): Promise<Figure[]> {
  return [...(await benchStartToEtcd()), ...(await benchColdStartAndResync())];
}
