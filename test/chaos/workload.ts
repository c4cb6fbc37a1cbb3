// What a chaos run deploys: every service on every host (so one host at a time may fail), with
// containers started and stopped at random while faults come and go.
import type { SimHost, TestCluster } from '../cluster/support.js';
import type { Rng } from '../harness/rng.js';

export const SERVICES = ['alpha', 'beta'] as const;
const MAX_PER_HOST = 3;

export class Workload {
  constructor(private readonly cluster: TestCluster) {}

  /** One container of every service on every host. */
  async deploy(): Promise<void> {
    for (const host of this.cluster.hosts) for (const service of SERVICES) await host.run(service);
  }

  /** A container started, or one stopped (`docker stop -t 2`: drained first) where its service keeps another on that host. */
  async change(rng: Rng, note: (what: string) => void): Promise<void> {
    const host = rng.pick(this.cluster.hosts);
    const service = rng.pick(SERVICES);
    const running = await runningOf(host, service);
    if (running.length < MAX_PER_HOST && (running.length <= 1 || rng.next() < 0.5)) {
      const started = await host.run(service);
      note(`deploy ${started.name}`);
      return;
    }
    const victim = rng.pick(running);
    note(`docker stop ${victim.name}`);
    const container = host.engine.docker.getContainer(victim.id);
    await container.stop({ t: 2 });
    await container.remove({ force: true });
  }

  /** A host lost its containers: clear them away and run one of each service there again. */
  async replaceLost(index: number): Promise<void> {
    const host = this.cluster.hosts[index]!;
    const all = await host.engine.docker.listContainers({ all: true, filters: { label: ['fabric.service'], status: ['exited', 'dead'] } });
    await Promise.all(all.map((c) => host.engine.docker.getContainer(c.Id).remove({ force: true })));
    for (const service of SERVICES) await host.run(service);
  }

  /** What the Docker engines run now, by service: the container names every router must serve. */
  async expected(): Promise<Map<string, string[]>> {
    const names = new Map<string, string[]>(SERVICES.map((s) => [s, []]));
    for (const host of this.cluster.hosts) {
      for (const service of SERVICES) names.get(service)!.push(...(await runningOf(host, service)).map((c) => c.name));
    }
    return names;
  }
}

async function runningOf(host: SimHost, service: string): Promise<Array<{ id: string; name: string }>> {
  const listed = await host.engine.docker.listContainers({ filters: { label: [`fabric.service=${service}`], status: ['running'] } });
  return listed.map((c) => ({ id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, '') }));
}
