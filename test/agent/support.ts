// Shared helpers for the agent's end-to-end tests: the real `fabric agent` as a child process,
// a real etcd per test, the shared private dockerd, and ways to read what the agent wrote.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Etcd3, type IKeyValue } from 'etcd3';
import { afterAll, afterEach, beforeAll, onTestFailed } from 'vitest';
import {
  type AgentOptions,
  assertBuilt,
  CLI,
  type Credentials,
  CuttableProxy,
  type EtcdOptions,
  type EtcdServer,
  launchAgent,
  metricValue,
  type RunningAgent,
  removeAllContainers,
  runCustom,
  runWeb,
  startEtcd,
  testDocker,
  type WaitOptions,
  waitFor,
} from '../harness/index.js';

assertBuilt(['agent', 'src', 'src/model']);

// ---------------------------------------------------------------- cleanup

const cleanups: Array<() => Promise<void> | void> = [];

/** Runs `fn` after the current test (last registered, first run). */
export function defer(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/**
 * Installs the per-test cleanup: everything started through these helpers is stopped
 * (agents before etcd), then every container of the test engine is removed.
 */
export function useAgentCleanup(): void {
  afterEach(async () => {
    const errors: unknown[] = [];
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (error) {
        errors.push(error);
      }
    }
    defaultPrefix = PREFIX;
    await removeAllContainers(testDocker().docker);
    if (errors.length) throw errors[0];
  });
}

export function tempDir(prefix = 'fabric-agent-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---------------------------------------------------------------- etcd

/** A fresh etcd for this test, stopped (and its data removed) after it. */
export async function testEtcd(opts: EtcdOptions = {}): Promise<EtcdServer> {
  const etcd = await startEtcd(opts);
  defer(() => etcd.stop());
  return etcd;
}

const PREFIX = '/fabric';
/** The prefix startAgent and EtcdView use unless told otherwise; sharedEtcd() gives each test its own. */
let defaultPrefix = PREFIX;
let prefixCounter = 0;

/**
 * One etcd for the whole file (started before the first test, stopped after the last), for tests
 * that never stop etcd nor count its revisions. Call the returned function in a test: it gives
 * that test a keyspace of its own (a fresh --etcd-prefix, the default of startAgent and EtcdView
 * until the test ends).
 */
export function useSharedEtcd(opts: EtcdOptions = {}): () => EtcdServer {
  let etcd: EtcdServer | undefined;
  beforeAll(async () => {
    etcd = await startEtcd(opts);
  });
  afterAll(async () => {
    await etcd?.stop();
  });
  return () => {
    if (!etcd) throw new Error('the shared etcd is not running');
    defaultPrefix = `/fabric-t${++prefixCounter}`;
    return etcd;
  };
}

export interface StoredKv {
  /** Relative to the prefix, e.g. `hosts/h1/endpoints/web/<id>`. */
  key: string;
  value: string;
  lease: string;
  modRevision: number;
  createRevision: number;
}

/** Endpoint JSON as the contract describes it, plus where it was found. */
export interface EndpointJson {
  service: string;
  host: string;
  container: string;
  name: string;
  address: string;
  port: number;
  weight: number;
  version?: string;
  mode: 'http' | 'tcp';
  domains: string[];
  path?: string;
  health: 'healthy' | 'unhealthy' | 'starting' | 'none';
  state: 'up' | 'draining';
  check?: { path?: string; intervalMs?: number };
}

/** A read-only window on one etcd (and prefix), through the `etcd3` client. */
export class EtcdView {
  private readonly client: Etcd3;

  constructor(
    readonly etcd: EtcdServer,
    readonly prefix = defaultPrefix,
    auth?: Credentials,
  ) {
    const options = etcd.clientOptions(auth ?? etcd.rootCredentials);
    this.client = new Etcd3({ ...options, dialTimeout: 2_000 });
    defer(() => this.client.close());
  }

  private full(key: string): string {
    return `${this.prefix}/${key}`;
  }

  private toKv(kv: IKeyValue): StoredKv {
    return {
      key: kv.key.toString().slice(this.prefix.length + 1),
      value: kv.value.toString(),
      lease: String(kv.lease),
      modRevision: Number(kv.mod_revision),
      createRevision: Number(kv.create_revision),
    };
  }

  /** Every key below the prefix (optionally below `under`), sorted. */
  async keys(under = ''): Promise<StoredKv[]> {
    const res = await this.client.getAll().prefix(this.full(under)).exec();
    return res.kvs.map((kv) => this.toKv(kv)).sort((a, b) => a.key.localeCompare(b.key));
  }

  async get(key: string): Promise<StoredKv | undefined> {
    const res = await this.client.get(this.full(key)).exec();
    const kv = res.kvs[0];
    return kv ? this.toKv(kv) : undefined;
  }

  async endpoints(): Promise<Array<EndpointJson & { key: string; lease: string; modRevision: number }>> {
    // Both layouts: what agents write now (hosts/<host>/endpoints/…) and the older one.
    const keys = [...(await this.keys('endpoints/')), ...(await this.keys('hosts/')).filter((kv) => /^hosts\/[^/]+\/endpoints\//.test(kv.key))];
    return keys.map((kv) => ({
      ...(JSON.parse(kv.value) as EndpointJson),
      key: kv.key,
      lease: kv.lease,
      modRevision: kv.modRevision,
    }));
  }

  /** The endpoint of one container (by id), wherever its service is. */
  async endpoint(containerId: string): Promise<(EndpointJson & { key: string; lease: string; modRevision: number }) | undefined> {
    return (await this.endpoints()).find((e) => e.container === containerId);
  }

  async host(name: string): Promise<({ name: string; address: string; agentVersion: string; started: string } & { lease: string }) | undefined> {
    const kv = (await this.get(`hosts/${name}/info`)) ?? (await this.get(`hosts/${name}`));
    return kv ? { ...JSON.parse(kv.value), lease: kv.lease } : undefined;
  }

  /** etcd's current revision: it moves on every write anywhere in the store. */
  async revision(): Promise<number> {
    const res = await this.client.get('/__fabric_test_revision_probe').exec();
    return Number(res.header.revision);
  }

  /**
   * Every value `key` took since it was last created, oldest first, read back from etcd's MVCC
   * history (no compaction runs in the tests): shows transient states a poll could miss.
   */
  async history(key: string): Promise<string[]> {
    const full = this.full(key);
    let kv = (await this.client.get(full).exec()).kvs[0];
    const values: string[] = [];
    while (kv) {
      values.push(kv.value.toString());
      if (kv.mod_revision === kv.create_revision) break;
      kv = (
        await this.client
          .get(full)
          .revision(String(BigInt(kv.mod_revision) - 1n))
          .exec()
      ).kvs[0];
    }
    return values.reverse();
  }

  async endpointHistory(key: string): Promise<EndpointJson[]> {
    return (await this.history(key)).map((v) => JSON.parse(v) as EndpointJson);
  }

  /** Waits until the container's endpoint exists and satisfies `test`. */
  async waitForEndpoint(
    containerId: string,
    test: (e: EndpointJson) => boolean = () => true,
    opts: WaitOptions = {},
  ): Promise<EndpointJson & { key: string; lease: string; modRevision: number }> {
    return waitFor(
      async () => {
        const e = await this.endpoint(containerId);
        return e && test(e) ? e : undefined;
      },
      { timeoutMs: 10_000, what: `endpoint of ${containerId.slice(0, 12)}`, ...opts },
    );
  }

  async waitForNoEndpoint(containerId: string, opts: WaitOptions = {}): Promise<void> {
    await waitFor(async () => (await this.endpoint(containerId)) === undefined, {
      timeoutMs: 10_000,
      what: `endpoint of ${containerId.slice(0, 12)} removed`,
      ...opts,
    });
  }
}

/** Shorthands for one-off reads (each opens a client that is closed after the test). */
export function readEndpoints(etcd: EtcdServer, prefix?: string): ReturnType<EtcdView['endpoints']> {
  return new EtcdView(etcd, prefix).endpoints();
}

export function etcdRevision(etcd: EtcdServer): Promise<number> {
  return new EtcdView(etcd).revision();
}

// ---------------------------------------------------------------- agent

let agentCounter = 0;

/** Starts `fabric agent` (the built CLI) against `etcd` and the test engine; stopped after the test. */
export async function startAgent(etcd: EtcdServer, opts: AgentOptions = {}): Promise<RunningAgent> {
  const hostName = opts.hostName ?? `host-${process.pid}-${++agentCounter}`;
  const agent = await launchAgent(etcd, hostName, { ...opts, prefix: opts.prefix ?? defaultPrefix });
  defer(async () => {
    await agent.stop();
  });
  onTestFailed(() => {
    const { proc } = agent;
    console.error(`--- ${proc.name} (pid ${proc.pid}), full log ${proc.logFile}; last lines:\n${proc.lines().slice(-40).join('\n')}`);
  });
  await agent.waitStarted(opts.waitReady !== false);
  return agent;
}

// ---------------------------------------------------------------- docker socket proxy

/** The harness' cuttable proxy in front of the test engine's socket: ends the agent's event stream on demand. */
export class DockerProxy {
  private constructor(
    private readonly proxy: CuttableProxy,
    readonly socketPath: string,
  ) {}

  static async start(target = testDocker().socketPath): Promise<DockerProxy> {
    const socketPath = path.join(tempDir('fabric-dproxy-'), 'docker-proxy.sock');
    const proxy = await CuttableProxy.start({ path: socketPath }, { path: target });
    defer(() => proxy.close());
    return new DockerProxy(proxy, socketPath);
  }

  get dockerHost(): string {
    return `unix://${this.socketPath}`;
  }

  /** Connections refused while cut. */
  get refused(): number {
    return this.proxy.refused;
  }

  cut(): void {
    this.proxy.cut();
  }

  restore(): void {
    this.proxy.restore();
  }
}

// ---------------------------------------------------------------- misc

/** Lease id as /v1/status gives it (decimal) → as etcdctl wants it (hex). */
export function leaseHex(decimal: string): string {
  return BigInt(decimal).toString(16);
}

export { type AgentOptions, CLI, metricValue, type RunningAgent, runCustom, runWeb, testDocker, waitFor };
