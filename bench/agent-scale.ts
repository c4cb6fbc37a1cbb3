// Agent at scale (issue 12, item 4), against the bench's private dockerd and a private etcd:
//  y) agent spawned on a host already running 200, then 1,000 labelled containers → all keys in etcd;
//     100 containers started at once under a running agent → each start event → its key (p50/p99).
// The containers are host-network `sleep`s with a `fabric.port` label: no port to publish, no
// network namespace to set up, so creating 1,000 of them stays within a minute or two.
import type Docker from 'dockerode';
import { startEtcd } from '../test/harness/etcd.js';
import { DEFAULT_TEST_IMAGE } from '../test/harness/image.js';
import { waitFor } from '../test/harness/wait.js';
import { benchDocker, subscribeStarts } from './lib/docker.js';
import { agentEndpointsPrefix, etcdClient, startAgent } from './lib/fabric.js';
import { type Figure, latencyFigures, ms, nowMs } from './lib/report.js';
import { Arrivals, Cleanup, mapLimit } from './lib/util.js';

const COLD_SIZES = [200, 1_000];
const BURST = 100;
const PARALLEL = 16;

function containerSpec(service: string, name: string): Docker.ContainerCreateOptions {
  return {
    name,
    Image: DEFAULT_TEST_IMAGE,
    Labels: { 'fabric.service': service, 'fabric.port': '9' },
    Cmd: ['sleep', '3600'],
    HostConfig: { NetworkMode: 'host' },
  };
}

/**
 * Force-removes every container, a few at a time: hundreds of removals at once make dockerd
 * give up waiting for exit events. A failed removal is tried once more.
 */
async function removeContainers(docker: Docker): Promise<void> {
  const containers = await docker.listContainers({ all: true });
  const remove = (id: string) => docker.getContainer(id).remove({ force: true });
  await mapLimit(containers, PARALLEL, (c) => remove(c.Id).catch(() => remove(c.Id).catch(() => undefined)));
}

async function createContainers(docker: Docker, service: string, n: number): Promise<Docker.Container[]> {
  return mapLimit(
    Array.from({ length: n }, (_, i) => i),
    PARALLEL,
    (i) => docker.createContainer(containerSpec(service, `${service}-${i}`)),
  );
}

/** Spawn the agent with `n` labelled containers running → the moment the last key arrives. */
async function coldStart(docker: Docker, dockerHost: string, etcdEndpoint: string, n: number, cleanup: Cleanup): Promise<Figure[]> {
  const service = `bench-y${n}`;
  const setupAt = nowMs();
  const containers = await createContainers(docker, service, n);
  await mapLimit(containers, PARALLEL, (c) => c.start());
  const setupMs = nowMs() - setupAt;

  const { client, kv } = etcdClient(etcdEndpoint);
  cleanup.defer(`etcd client ${n}`, () => client.close());
  const keys = new Arrivals();
  let allAt: number | undefined;
  const watcher = await kv.watch().prefix(agentEndpointsPrefix(service, service)).create();
  watcher.on('put', (entry) => {
    keys.note(entry.key.toString(), nowMs());
    if (keys.times.size === n) allAt ??= nowMs();
  });
  const agent = await startAgent({ etcd: etcdEndpoint, dockerHost, hostName: service, name: `bench-agent-${service}` });
  try {
    const connectedLine = await agent.proc.waitForLine(/Docker event stream connected/, 30_000);
    const connectedAt = Date.parse((JSON.parse(connectedLine) as { time: string }).time);
    await waitFor(() => allAt !== undefined, { timeoutMs: 60_000, intervalMs: 5, what: `${n} keys in etcd` });
    return [
      { id: 'y', name: `agent spawned → all ${n} registered`, value: ms(allAt! - agent.spawnedAt), target: n <= 200 ? '≤ 1 s' : '≤ 3 s' },
      { id: 'y', name: `  of which spawned → "Docker event stream connected" (its log time)`, value: ms(connectedAt - agent.spawnedAt) },
      { id: 'y', name: `  of which connected → all ${n} registered`, value: ms(allAt! - connectedAt) },
      { id: 'y', name: `(setup: creating and starting ${n} containers, ${PARALLEL} at a time)`, value: ms(setupMs) },
    ];
  } finally {
    await watcher.cancel();
    await agent.stop();
    await removeContainers(docker);
  }
}

/** 100 containers created first, then started all at once under a running agent. */
async function burst(docker: Docker, dockerHost: string, etcdEndpoint: string, cleanup: Cleanup): Promise<Figure[]> {
  const service = 'bench-yburst';
  const { client, kv } = etcdClient(etcdEndpoint);
  cleanup.defer('etcd client burst', () => client.close());
  const keys = new Arrivals();
  const watcher = await kv.watch().prefix(agentEndpointsPrefix(service, service)).create();
  watcher.on('put', (entry) => keys.note(entry.key.toString().split('/').pop()!, nowMs()));
  const starts = await subscribeStarts(docker);
  const agent = await startAgent({ etcd: etcdEndpoint, dockerHost, hostName: service, name: 'bench-agent-yburst' });
  try {
    await agent.proc.waitForLine(/Docker event stream connected/, 30_000);
    const containers = await createContainers(docker, service, BURST);
    const startedAt = nowMs();
    await Promise.all(containers.map((c) => c.start()));
    const startAllMs = nowMs() - startedAt;
    const samples: number[] = [];
    let failures = 0;
    for (const c of containers) {
      const [started, seen] = await Promise.all([starts.waitFor(c.id, 30_000), keys.waitFor(c.id, 30_000)]);
      if (started === undefined || seen === undefined) failures += 1;
      else samples.push(seen - started);
    }
    return [
      ...latencyFigures('y', `${BURST} started at once: start event → its key in etcd`, samples, { p99: '≤ 200 ms' }, failures),
      { id: 'y', name: `(setup: the ${BURST} start calls, all in parallel, took)`, value: ms(startAllMs) },
    ];
  } finally {
    starts.close();
    await watcher.cancel();
    await agent.stop();
    await removeContainers(docker);
  }
}

export async function benchAgentAtScale(): Promise<Figure[]> {
  const cleanup = new Cleanup();
  try {
    const { docker, dockerHost } = await benchDocker();
    cleanup.defer('containers', () => removeContainers(docker));
    const etcd = await startEtcd({ name: 'bench-etcd-y' });
    cleanup.defer('etcd', () => etcd.stop());
    const figures: Figure[] = [];
    for (const n of COLD_SIZES) figures.push(...(await coldStart(docker, dockerHost, etcd.endpoint, n, cleanup)));
    figures.push(...(await burst(docker, dockerHost, etcd.endpoint, cleanup)));
    return figures;
  } finally {
    await cleanup.run();
  }
}
