// Shared helpers for the agent's end-to-end tests: the real `fabric agent` as a child process,
// a real etcd per test, the shared private dockerd, and ways to read what the agent wrote.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { Etcd3, type IKeyValue } from 'etcd3';
import { afterAll, afterEach, beforeAll, onTestFailed } from 'vitest';
import {
  CuttableProxy,
  freePort,
  freePorts,
  removeAllContainers,
  runWeb as harnessRunWeb,
  startEtcd,
  startProcess,
  testDocker,
  waitFor,
  waitUntilReady,
  type Credentials,
  type EtcdOptions,
  type EtcdServer,
  type ExitResult,
  type ManagedProcess,
  type RunWebOptions,
  type WaitOptions,
  type WebContainer,
} from '../harness/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'dist/src/cli.js');

/** The tests drive the built command line: refuse to test a stale build of agent/ or src/. */
function assertBuilt(): void {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npx tsc -p .\` first`);
  for (const dir of ['agent', 'src', 'src/model']) {
    for (const file of fs.readdirSync(path.join(ROOT, dir))) {
      if (!file.endsWith('.ts')) continue;
      const built = path.join(ROOT, 'dist', dir, file.replace(/\.ts$/, '.js'));
      const source = path.join(ROOT, dir, file);
      if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < fs.statSync(source).mtimeMs) {
        throw new Error(`${path.relative(ROOT, built)} is older than ${dir}/${file}: run \`npx tsc -p .\` first`);
      }
    }
  }
}
assertBuilt();

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
  /** Relative to the prefix, e.g. `endpoints/web/h1/<id>`. */
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
    return (await this.keys('endpoints/')).map((kv) => ({
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
    const kv = await this.get(`hosts/${name}`);
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
      kv = (await this.client.get(full).revision(String(BigInt(kv.mod_revision) - 1n)).exec()).kvs[0];
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

export interface AgentOptions {
  hostName?: string;
  hostIp?: string;
  prefix?: string;
  ttl?: string;
  resyncInterval?: string;
  keepLease?: boolean;
  addressMode?: 'published' | 'container' | 'host';
  network?: string;
  /** --docker; default the test engine. */
  docker?: string;
  /** TLS flags are derived from etcd.tls; credentials come from here. */
  auth?: Credentials;
  extraArgs?: string[];
  /** Wait for /readyz 200 (default) or only for the API to answer. */
  waitReady?: boolean;
}

export interface HttpResult {
  status: number;
  text: string;
  json: any;
}

let agentCounter = 0;

export class RunningAgent {
  constructor(
    readonly proc: ManagedProcess,
    readonly url: string,
    readonly hostName: string,
    readonly prefix: string,
  ) {}

  async get(pathname: string): Promise<HttpResult> {
    const res = await fetch(`${this.url}${pathname}`, { signal: AbortSignal.timeout(5_000) });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json };
  }

  async status(): Promise<any> {
    return (await this.get('/v1/status')).json;
  }

  async endpoints(): Promise<any> {
    return (await this.get('/v1/endpoints')).json;
  }

  async isReady(): Promise<boolean> {
    return (await this.get('/readyz')).status === 200;
  }

  async waitReady(opts: WaitOptions = {}): Promise<void> {
    await waitUntilReady(this.proc, () => this.isReady().catch(() => false), {
      timeoutMs: 15_000,
      what: `agent ${this.hostName} /readyz 200`,
      ...opts,
    });
  }

  /** The agent's lease id as etcd prints it (decimal). */
  async leaseId(): Promise<string> {
    const status = await this.status();
    const id = status?.lease?.id;
    if (!id) throw new Error(`agent has no lease: ${JSON.stringify(status?.lease)}`);
    return String(id);
  }

  async metricsText(): Promise<string> {
    const res = await this.get('/metrics');
    if (res.status !== 200) throw new Error(`/metrics: HTTP ${res.status}`);
    return res.text;
  }

  /** The value of one series; `labels` must all match (others, like component, are ignored). */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return metricValue(await this.metricsText(), name, labels);
  }

  /** The agent's JSON log lines. */
  logs(): Array<Record<string, any>> {
    return this.proc.lines().flatMap((line) => {
      try {
        const parsed = JSON.parse(line);
        return parsed && typeof parsed === 'object' ? [parsed] : [];
      } catch {
        return [];
      }
    });
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitResult> {
    return this.proc.stop(signal, 12_000);
  }

  kill9(): Promise<ExitResult> {
    return this.proc.kill9();
  }
}

export function agentArgs(etcd: EtcdServer, listen: string, opts: AgentOptions, hostName: string): string[] {
  const args = [
    CLI,
    'agent',
    '--etcd', etcd.endpoint,
    '--docker', opts.docker ?? testDocker().dockerHost,
    '--host-ip', opts.hostIp ?? '127.0.0.1',
    '--host-name', hostName,
    '--listen', listen,
    '--etcd-prefix', opts.prefix ?? defaultPrefix,
    '--ttl', opts.ttl ?? '15s',
    '--resync-interval', opts.resyncInterval ?? '30s',
  ];
  if (opts.keepLease) args.push('--keep-lease');
  if (opts.addressMode) args.push('--address-mode', opts.addressMode);
  if (opts.network) args.push('--network', opts.network);
  if (etcd.tls) {
    args.push('--etcd-cacert', etcd.tls.caFile, '--etcd-cert', etcd.tls.clientCertFile, '--etcd-key', etcd.tls.clientKeyFile);
  }
  if (opts.auth) args.push('--etcd-user', opts.auth.user, '--etcd-password', opts.auth.password);
  return [...args, ...(opts.extraArgs ?? [])];
}

/** Starts `fabric agent` (the built CLI) against `etcd` and the test engine; stopped after the test. */
export async function startAgent(etcd: EtcdServer, opts: AgentOptions = {}): Promise<RunningAgent> {
  const port = await freePort();
  const hostName = opts.hostName ?? `host-${process.pid}-${++agentCounter}`;
  const listen = `127.0.0.1:${port}`;
  const proc = startProcess(process.execPath, agentArgs(etcd, listen, opts, hostName), {
    name: `agent-${hostName}`,
    env: { FABRIC_LOG_LEVEL: 'debug' },
  });
  const agent = new RunningAgent(proc, `http://${listen}`, hostName, opts.prefix ?? defaultPrefix);
  defer(async () => {
    await agent.stop();
  });
  onTestFailed(() => {
    console.error(`--- ${proc.name} (pid ${proc.pid}), full log ${proc.logFile}; last lines:\n${proc.lines().slice(-40).join('\n')}`);
  });
  if (opts.waitReady === false) {
    await waitUntilReady(proc, () => agent.get('/healthz').then((r) => r.status === 200).catch(() => false), {
      timeoutMs: 15_000,
      what: `agent ${hostName} /healthz`,
    });
  } else {
    await agent.waitReady();
  }
  return agent;
}

// ---------------------------------------------------------------- metrics

/** Sums the series of `name` whose labels include `labels` (Prometheus text format). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const seriesLabels: Record<string, string> = {};
    for (const m of (match[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) seriesLabels[m[1]!] = m[2]!;
    if (Object.entries(labels).every(([k, v]) => seriesLabels[k] === v)) {
      total += Number(match[4]);
      found = true;
    }
  }
  if (!found) throw new Error(`no series ${name}${JSON.stringify(labels)} in metrics`);
  return total;
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

// ---------------------------------------------------------------- containers

/*
 * Published ports are chosen here (a free loopback port from the kernel), not by Docker: dockerd
 * hands out host ports one after the other from 32768 up, knowing only its own, so another Docker
 * engine on the machine (a second test run, a benchmark) makes it collide with ports already
 * bound ("Error starting userland proxy: ... address already in use"). A collision that still
 * happens in the short race is retried with another port.
 */

const PUBLISH_ATTEMPTS = 5;

function isPortClash(error: unknown): boolean {
  return /address already in use|port is already allocated/i.test(String((error as Error)?.message ?? error));
}

async function withFreeHostPorts<T>(n: number, create: (ports: number[]) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports = await freePorts(n);
    try {
      return await create(ports);
    } catch (error) {
      if (attempt >= PUBLISH_ATTEMPTS || !isPortClash(error)) throw error;
    }
  }
}

/**
 * The harness's runWeb (busybox httpd, labelled), but a published port is bound to a host port
 * picked as above. Same options and result.
 */
export async function runWeb(docker: Docker, opts: RunWebOptions): Promise<WebContainer> {
  if (opts.hostNetwork || opts.publish === false) return harnessRunWeb(docker, opts);
  const port = opts.port ?? 80;
  const portKey = `${port}/tcp`;
  return withFreeHostPorts(1, async ([hostPort]) => {
    const name = opts.name ?? `fabtest-web-${randomBytes(4).toString('hex')}`;
    const env = { ...opts.env, ...(opts.body === undefined ? {} : { BODY: opts.body }) };
    const httpd = `httpd -f -p ${port} -h /www`;
    const container = await docker.createContainer({
      name,
      Image: opts.image ?? testDocker().image,
      Labels: opts.labels,
      Cmd: opts.body !== undefined ? ['/bin/sh', '-c', `printf '%s' "$BODY" > /www/index.html && exec ${httpd}`] : ['/bin/busybox', ...httpd.split(' ')],
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ExposedPorts: { [portKey]: {} },
      StopSignal: opts.stopSignal,
      Healthcheck: opts.healthcheck && {
        Test: opts.healthcheck.test,
        Interval: opts.healthcheck.intervalMs * 1e6,
        Timeout: (opts.healthcheck.timeoutMs ?? Math.max(opts.healthcheck.intervalMs, 1_000)) * 1e6,
        Retries: opts.healthcheck.retries ?? 1,
      },
      HostConfig: { NetworkMode: 'bridge', PortBindings: { [portKey]: [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }] } },
    });
    try {
      await container.start();
    } catch (error) {
      await container.remove({ force: true }).catch(() => {});
      throw error;
    }
    return {
      id: container.id,
      name,
      hostPort,
      container,
      stop: async (timeoutSec = 2) => {
        try {
          await container.stop({ t: timeoutSec });
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode !== 304) throw error;
        }
      },
      kill: async (signal = 'SIGKILL') => void (await container.kill({ signal })),
      remove: async () => {
        try {
          await container.remove({ force: true, v: true });
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode !== 404) throw error;
        }
      },
    };
  });
}

export interface CustomContainerOptions {
  labels: Record<string, string>;
  cmd: string[];
  /** Exposed container ports. */
  exposed?: number[];
  /** Of those, the ones published on 127.0.0.1 (each on a free host port). */
  published?: number[];
}

/** A container of the test image with any command and ports (runWeb covers the usual web case). */
export async function runCustom(opts: CustomContainerOptions): Promise<{ id: string; name: string; container: Docker.Container }> {
  const { docker, image } = testDocker();
  const published = opts.published ?? [];
  return withFreeHostPorts(published.length, async (hostPorts) => {
    const name = `fabtest-custom-${randomBytes(4).toString('hex')}`;
    const container = await docker.createContainer({
      name,
      Image: image,
      Labels: opts.labels,
      Cmd: opts.cmd,
      ExposedPorts: Object.fromEntries((opts.exposed ?? []).map((p) => [`${p}/tcp`, {}])),
      HostConfig: {
        PortBindings: Object.fromEntries(published.map((p, i) => [`${p}/tcp`, [{ HostIp: '127.0.0.1', HostPort: String(hostPorts[i]) }]])),
      },
    });
    try {
      await container.start();
    } catch (error) {
      await container.remove({ force: true }).catch(() => {});
      throw error;
    }
    return { id: container.id, name, container };
  });
}

// ---------------------------------------------------------------- misc

/** Lease id as /v1/status gives it (decimal) → as etcdctl wants it (hex). */
export function leaseHex(decimal: string): string {
  return BigInt(decimal).toString(16);
}

export { testDocker, waitFor };
