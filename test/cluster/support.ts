// A fabric cluster on one machine, every piece real and on loopback: N etcd members, M Docker
// engines (one per simulated host, each with its agent), K routers (each with its HAProxy).
// Containers run in the host network on free loopback ports, so no traffic goes to a Docker
// bridge. Every process is stopped by pid when the test's Resources are released.
import http from 'node:http';
import type { Etcd3 } from 'etcd3';
import { Etcd3 as Client } from 'etcd3';
import {
  buildBusyboxImage,
  type DockerEngine,
  type EtcdCluster,
  freePort,
  launchAgent,
  ResponseCutShort,
  type RunningAgent,
  runWeb,
  startDockerd,
  startEtcdCluster,
  type WebContainer,
  waitFor,
} from '../harness/index.js';
import { bodies, haproxyMasters, type Resources, type RunningRouter, restartRouter, startRouter } from '../router/support.js';

export const DOMAIN = 'apps.test';

export interface ClusterOptions {
  etcdMembers?: number;
  hosts?: number;
  routers?: number;
  /** The agents' lease TTL. */
  ttl?: string;
  /** Extra flags for every agent (e.g. --keep-lease), also when a host's agent is started again. */
  agentArgs?: string[];
}

/** Router defaults: health checks that take a dead or frozen endpoint out in about a second. */
const ROUTER_CONFIG = {
  healthCheck: { interval: '500ms', timeout: '400ms', rise: 1, fall: 2 },
  debounce: { min: '10ms', max: '200ms' },
};

/** One simulated host: a Docker engine of its own and the agent on it. */
export class SimHost {
  private seq = 0;

  constructor(
    private readonly res: Resources,
    readonly name: string,
    readonly engine: DockerEngine,
    public agent: RunningAgent,
    private readonly etcdEndpoint: string,
    private readonly ttl: string,
    private readonly agentArgs: string[],
  ) {}

  /**
   * A web container of `service` in the host network, answering with its own name, checked by
   * HTTP (a frozen process passes a TCP check: the kernel still completes the handshake).
   */
  async run(service: string, opts: { version?: string } = {}): Promise<WebContainer> {
    const port = await freePort();
    const name = `${this.name}-${service}-${++this.seq}`;
    return runWeb(this.engine.docker, {
      name,
      body: name,
      hostNetwork: { port },
      labels: {
        'fabric.service': service,
        'fabric.port': String(port),
        'fabric.health.path': '/',
        'fabric.health.interval': '500ms',
        ...(opts.version ? { 'fabric.version': opts.version } : {}),
      },
    });
  }

  /** A new agent for this host (after the old one stopped or was killed), with the cluster's agent flags and `extraArgs`. */
  async startAgent(extraArgs: string[] = []): Promise<RunningAgent> {
    const args = [...new Set([...this.agentArgs, ...extraArgs])];
    this.agent = await launchHostAgent(this.res, { endpoint: this.etcdEndpoint, tls: undefined }, this.name, this.engine, this.ttl, args);
    await this.agent.waitStarted();
    return this.agent;
  }
}

export interface TestCluster {
  etcd: EtcdCluster;
  hosts: SimHost[];
  routers: RunningRouter[];
  /** A client on every member, for writes from the test. */
  client: Etcd3;
  /** Waits until every router serves `service` from exactly the containers named. */
  waitServedEverywhere(service: string, names: string[], timeoutMs?: number): Promise<void>;
  /** Router `index` started again on its config, after it exited or was killed. */
  restartRouter(index: number): Promise<RunningRouter>;
}

export async function startCluster(res: Resources, opts: ClusterOptions = {}): Promise<TestCluster> {
  const ttl = opts.ttl ?? '6s';
  const etcd = await startEtcdCluster(opts.etcdMembers ?? 3);
  res.defer(() => etcd.stop());
  const client = new Client({ hosts: etcd.members.map((m) => m.endpoint), dialTimeout: 2_000 });
  res.defer(() => client.close());
  const hosts = await Promise.all(
    Array.from({ length: opts.hosts ?? 2 }, async (_, i) => {
      const name = `host${i}`;
      const engine = await startDockerd({ network: 'none', liveRestore: true, name: `dockerd-${name}` });
      res.defer(() => engine.stop());
      await buildBusyboxImage(engine.docker);
      const agent = await launchHostAgent(res, etcd, name, engine, ttl, opts.agentArgs ?? []);
      await agent.waitStarted();
      return new SimHost(res, name, engine, agent, etcd.endpoint, ttl, opts.agentArgs ?? []);
    }),
  );
  const routers: RunningRouter[] = [];
  for (let i = 0; i < (opts.routers ?? 2); i++) {
    // Routers hand their HAProxy over on exit: none may outlive the test. Deferred first, so it runs
    // after every router of this slot has stopped (a live router would start HAProxy again).
    res.defer(() => killHaproxy(routers[i]));
    routers.push(await startRouter(res, etcd, { domain: DOMAIN, lbOnExit: 'keep', config: { ...ROUTER_CONFIG, routerId: `router${i}` } }));
  }
  return {
    etcd,
    hosts,
    routers,
    client,
    waitServedEverywhere: (service, names, timeoutMs = 15_000) =>
      waitFor(async () => (await Promise.all(routers.map((r) => servesExactly(r, service, names)))).every(Boolean), {
        timeoutMs,
        what: `every router to serve ${service} from exactly ${names.join(', ')}`,
      }).then(() => undefined),
    restartRouter: async (index) => {
      const next = await restartRouter(res, routers[index]!, etcd, { lbOnExit: 'keep' });
      routers[index] = next;
      return next;
    },
  };
}

function killHaproxy(router: RunningRouter | undefined): void {
  if (router) for (const pid of haproxyMasters(router.dest)) process.kill(pid, 'SIGKILL');
}

async function launchHostAgent(
  res: Resources,
  etcd: Pick<EtcdCluster, 'endpoint' | 'tls'>,
  name: string,
  engine: DockerEngine,
  ttl: string,
  extraArgs: string[],
): Promise<RunningAgent> {
  const agent = await launchAgent(etcd, name, { docker: engine.dockerHost, ttl, resyncInterval: '10s', extraArgs });
  res.defer(async () => {
    await agent.stop();
  });
  return agent;
}

/** Whether `router` answers `service` from exactly `names` (each answer is the container's name). */
/** A cluster with a `web` container on every host, served by every router. */
export async function startWebCluster(res: Resources): Promise<{ cluster: TestCluster; web: WebContainer[] }> {
  const cluster = await startCluster(res);
  const web: WebContainer[] = [];
  for (const host of cluster.hosts) web.push(await host.run('web'));
  await cluster.waitServedEverywhere(
    'web',
    web.map((c) => c.name),
  );
  return { cluster, web };
}

export async function servesExactly(router: RunningRouter, service: string, names: string[]): Promise<boolean> {
  const seen = new Set(await bodies(router, `${service}.${DOMAIN}`, Math.max(4, names.length * 4)));
  return seen.size === names.length && names.every((n) => seen.has(n));
}

export interface Failure {
  at: number;
  /** When the failed request was sent. */
  sentAt: number;
  router: number;
  error: string;
  /** The response had begun when its connection broke (see ResponseCutShort). */
  cutShort: boolean;
}

export interface TrafficReport {
  total: number;
  failures: Failure[];
  /** Bodies seen, with how often. */
  seen: Map<string, number>;
}

/**
 * Bounded request loops on every router at once: for each, one on fresh connections and one on
 * a kept-alive connection, paced a little, each request with a deadline. Runs until `stop()` or
 * `maxRequests` in all, whichever comes first. Any non-200 or error is a failure, with its time.
 */
export class Traffic {
  private readonly report: TrafficReport = { total: 0, failures: [], seen: new Map() };
  private stopped = false;
  /** Loops end by then even if nobody stops them (a test that failed half-way). */
  private readonly deadline: number;
  private readonly agents: http.Agent[] = [];
  private readonly loops: Promise<void>[];

  constructor(
    routers: () => RunningRouter[],
    host: string,
    private readonly opts: { maxRequests: number; timeoutMs?: number; paceMs?: number; maxMs?: number },
  ) {
    this.deadline = Date.now() + (opts.maxMs ?? 180_000);
    this.loops = routers().flatMap((_, index) => [this.loop(routers, index, host, undefined), this.loop(routers, index, host, this.keepAlive())]);
  }

  get total(): number {
    return this.report.total;
  }

  async stop(): Promise<TrafficReport> {
    this.stopped = true;
    await Promise.all(this.loops);
    for (const agent of this.agents) agent.destroy();
    return this.report;
  }

  private keepAlive(): http.Agent {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.agents.push(agent);
    return agent;
  }

  private async loop(routers: () => RunningRouter[], index: number, host: string, agent: http.Agent | undefined): Promise<void> {
    while (!this.stopped && this.report.total < this.opts.maxRequests && Date.now() < this.deadline) {
      this.report.total += 1;
      // The router at this index now (a restart replaces it; its HAProxy port stays).
      const router = routers()[index]!;
      const sentAt = Date.now();
      try {
        const res = await router.request(host, '/', { timeoutMs: this.opts.timeoutMs ?? 5_000, agent });
        if (res.status !== 200) this.fail(index, sentAt, `HTTP ${res.status} ${res.body.slice(0, 80)}`);
        else this.report.seen.set(res.body, (this.report.seen.get(res.body) ?? 0) + 1);
      } catch (error) {
        this.fail(index, sentAt, (error as Error).message, error instanceof ResponseCutShort);
      }
      await new Promise((resolve) => setTimeout(resolve, this.opts.paceMs ?? 5));
    }
  }

  private fail(router: number, sentAt: number, error: string, cutShort = false): void {
    this.report.failures.push({ at: Date.now(), sentAt, router, error, cutShort });
  }
}

/**
 * The failures left once answers cut short by a SIGKILL are forgiven: a request sent before the
 * kill landed whose response had already begun cannot be saved by any proxy (its bytes are on the
 * way to the client; a retry would duplicate them). Everything else still counts.
 */
export function notKilledMidAnswer(failures: Failure[], killedAt: number): Failure[] {
  return failures.filter((f) => !(f.cutShort && f.sentAt <= killedAt));
}

/** Failures as lines, for assertion messages. */
export function describeFailures(failures: Failure[], since: number): string[] {
  return failures.map((f) => `+${f.at - since} ms router${f.router}: ${f.error}`);
}
