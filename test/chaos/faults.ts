// The faults a chaos run picks from: each breaks one thing and heals it again. They are the
// cluster scenarios of test/cluster, one at a time, while containers come and go.

import type { TestCluster } from '../cluster/support.js';
import { waitFor } from '../harness/index.js';
import type { Rng } from '../harness/rng.js';

export interface FaultContext {
  cluster: TestCluster;
  rng: Rng;
  /** Adds a line to the run's timeline. */
  note(what: string): void;
  /** Failed requests within this window (ms since epoch) are what the fault is allowed to cost. */
  allow(window: Allowance): void;
  /** Containers a host lost: the run deploys new ones in their place. */
  lost(host: number): Promise<void>;
}

/**
 * What a fault may cost each request loop within a window: a hung host, the request in flight and
 * one more; a host lost, a response its container was already sending when it was killed (no proxy
 * can retry a response it has started to forward). `only`: the failures it covers.
 */
export interface Allowance {
  from: number;
  to: number;
  perLoop: number;
  only?: RegExp;
}

export interface Fault {
  name: string;
  /** Breaks, waits a little, heals. Resolves once healed (convergence is checked by the run). */
  run(ctx: FaultContext): Promise<void>;
}

/** A pause inside a fault: the fault's own duration, not a wait for a condition. */
function hold(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const FAULTS: Fault[] = [
  {
    name: 'etcd leader SIGKILL',
    async run({ cluster, rng, note }) {
      const leader = await cluster.etcd.leader();
      note(`kill -9 ${leader.name} (leader)`);
      await leader.kill9();
      await hold(rng.int(500, 3_000));
      await leader.start();
      await cluster.etcd.waitLeader();
    },
  },
  {
    name: 'etcd outage',
    async run({ cluster, rng, note }) {
      const ms = rng.int(2_000, 6_000);
      note(`kill -9 every etcd member for ${ms} ms`);
      await Promise.all(cluster.etcd.members.map((m) => m.kill9()));
      await hold(ms);
      await Promise.all(cluster.etcd.members.map((m) => m.start()));
    },
  },
  {
    name: 'host lost',
    async run({ cluster, rng, note, lost, allow }) {
      const index = rng.int(0, cluster.hosts.length - 1);
      const host = cluster.hosts[index]!;
      note(`${host.name}: agent kill -9, every container killed`);
      const from = Date.now();
      allow({ from, to: from + 2_000, perLoop: 1, only: /^HTTP \d+ cut short: / });
      await host.agent.kill9();
      const running = await host.engine.docker.listContainers({ filters: { label: ['fabric.service'] } });
      await Promise.all(running.map((c) => host.engine.docker.getContainer(c.Id).kill()));
      await hold(rng.int(1_000, 4_000));
      await host.startAgent();
      await lost(index);
    },
  },
  {
    name: 'host hung',
    async run({ cluster, rng, note, allow }) {
      const host = cluster.hosts[rng.int(0, cluster.hosts.length - 1)]!;
      const running = await host.engine.docker.listContainers({ filters: { label: ['fabric.service'] } });
      note(`${host.name}: docker pause ${running.length} containers, agent kill -9`);
      const from = Date.now();
      allow({ from, to: from + 6_000, perLoop: 2 });
      await host.agent.kill9();
      await Promise.all(running.map((c) => host.engine.docker.getContainer(c.Id).pause()));
      await hold(rng.int(3_000, 7_000));
      await Promise.all(running.map((c) => host.engine.docker.getContainer(c.Id).unpause()));
      await host.startAgent();
    },
  },
  {
    name: 'router SIGTERM restart',
    async run({ cluster, rng, note }) {
      const index = rng.int(0, cluster.routers.length - 1);
      note(`router${index}: SIGTERM, started again`);
      await cluster.routers[index]!.proc.stop('SIGTERM', 15_000);
      await cluster.restartRouter(index);
    },
  },
  {
    name: 'router SIGKILL restart',
    async run({ cluster, rng, note }) {
      const index = rng.int(0, cluster.routers.length - 1);
      note(`router${index}: kill -9, started again`);
      await cluster.routers[index]!.proc.kill9();
      await hold(rng.int(0, 2_000));
      await cluster.restartRouter(index);
    },
  },
  {
    name: 'agent restart --keep-lease',
    async run({ cluster, rng, note }) {
      const host = cluster.hosts[rng.int(0, cluster.hosts.length - 1)]!;
      note(`${host.name}: agent SIGTERM with --keep-lease, started again`);
      await host.agent.proc.stop('SIGTERM', 15_000);
      await host.startAgent(['--keep-lease']);
    },
  },
  {
    name: 'dockerd restart',
    async run({ cluster, rng, note }) {
      const host = cluster.hosts[rng.int(0, cluster.hosts.length - 1)]!;
      note(`${host.name}: dockerd restarted (live-restore)`);
      await host.engine.restart();
      await waitFor(() => host.agent.isReady(), { timeoutMs: 30_000, what: `${host.name}'s agent ready again` });
    },
  },
];
