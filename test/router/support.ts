// Helpers for the router's end-to-end tests: the real `fabric router` (which starts and supervises
// a real HAProxy) and `fabric agent` as child processes, endpoint JSON written straight into a
// real etcd, plain HTTP through HAProxy, and HAProxy's own CLI sockets to see what it runs.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type http2 from 'node:http2';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { parseServersState, parseShowMap, type RuntimeServer, runtimeServingState } from '../../lb/haproxy/runtime-state.js';
import { haproxyCommand, type ProcInfo, parseShowProc } from '../../lb/haproxy/socket.js';
import {
  type AgentOptions,
  assertBuilt,
  CLI,
  CuttableProxy,
  type EtcdServer,
  type ExitResult,
  FabricProcess,
  freePort,
  freePorts,
  type HttpGetOptions,
  type HttpResult,
  httpGet,
  isAlive,
  launchAgent,
  type ManagedProcess,
  metricSum,
  parentPid,
  pidsWithArg,
  ROOT,
  type RunningAgent,
  startEtcd,
  startProcess,
  testDocker,
  type WaitOptions,
  waitFor,
  waitUntilReady,
} from '../harness/index.js';

export const DEFAULT_TEMPLATE = path.join(ROOT, 'templates/haproxy.cfg.hbs');
export const PREFIX = '/fabric';
export const DOMAIN = 'apps.test';

// The agent's sources are checked only by startAgent, so work in progress there does not stop the router-only tests.
assertBuilt(['lb', 'lb/haproxy', 'lb/health', 'lb/slb', 'lb/template', 'src', 'src/model']);

// ---------------------------------------------------------------- cleanup

/**
 * What a test (or a file) started, released in reverse order: routers and agents before etcd,
 * every process by its pid. `afterAll(() => res.release())` or `afterEach(...)`.
 */
export class Resources {
  private readonly fns: Array<() => Promise<void> | void> = [];

  defer(fn: () => Promise<void> | void): void {
    this.fns.push(fn);
  }

  async release(): Promise<void> {
    const errors: unknown[] = [];
    for (const fn of this.fns.splice(0).reverse()) {
      try {
        await fn();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length) throw errors[0];
  }

  tempDir(prefix = 'fabric-router-test-'): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  }
}

/** A fresh etcd, stopped (and its data removed) on release. */
export async function startEtcdFor(res: Resources): Promise<EtcdServer> {
  const etcd = await startEtcd();
  res.defer(() => etcd.stop());
  return etcd;
}

export interface RouterSuiteOptions {
  /** Start one HAProxy router for the file with these options (default {}), or none (false). */
  router?: RouterOptions | false;
  /** More cleanup after each test, once `perTest` is released. */
  afterEach?: () => Promise<void>;
}

/** What a test file shares: etcd, a client on it and, unless told otherwise, one router. */
export interface RouterSuite {
  /** Released after the last test. */
  readonly file: Resources;
  /** Released after each test. */
  readonly perTest: Resources;
  readonly etcd: EtcdServer;
  readonly client: Etcd3;
  readonly router: RunningRouter;
}

/**
 * Resources for a file (released after its last test) and for each test (released after it,
 * then `afterEach` runs).
 */
export function useResources(opts: { afterEach?: () => Promise<void> } = {}): { file: Resources; perTest: Resources } {
  const file = new Resources();
  const perTest = new Resources();
  afterEach(async () => {
    await perTest.release();
    await opts.afterEach?.();
  });
  afterAll(async () => {
    await perTest.release();
    await file.release();
  });
  return { file, perTest };
}

/**
 * One etcd, an `etcd3` client and (unless `router: false`) a router for the whole file, started
 * before its first test; `perTest` is released after each test, everything after the last one.
 * The fields throw if read before the file's setup ran.
 */
export function useRouterSuite(opts: RouterSuiteOptions = {}): RouterSuite {
  const { file, perTest } = useResources(opts);
  let started: { etcd: EtcdServer; client: Etcd3; router?: RunningRouter } | undefined;
  const get = () => {
    if (!started) throw new Error('the router suite is not set up (read it inside a test or hook)');
    return started;
  };
  beforeAll(async () => {
    const etcd = await startEtcdFor(file);
    const client = etcdClient(file, etcd);
    started = { etcd, client, router: opts.router === false ? undefined : await startRouter(file, etcd, opts.router) };
  });
  return {
    file,
    perTest,
    get etcd() {
      return get().etcd;
    },
    get client() {
      return get().client;
    },
    get router() {
      const { router } = get();
      if (!router) throw new Error('this suite runs no router of its own (router: false)');
      return router;
    },
  };
}

/** Processes whose last lines are printed when a test fails. */
const watched = new Set<ManagedProcess>();

function watchLogs(proc: ManagedProcess): void {
  watched.add(proc);
  void proc.exited.then(() => setTimeout(() => watched.delete(proc), 0));
}

// On a failed test, the last lines of every router and agent it could have involved.
afterEach((ctx) => {
  if (ctx.task.result?.state !== 'fail') return;
  for (const proc of watched) {
    console.error(`--- ${proc.name} (pid ${proc.pid}), full log ${proc.logFile}; last lines:\n${proc.lines().slice(-40).join('\n')}`);
  }
});

// ---------------------------------------------------------------- HAProxy sockets

/** The master CLI's `show proc` of the HAProxy a router runs in `dir` (the dest's directory). */
export async function haproxyShowProc(dir: string): Promise<ProcInfo> {
  const text = await haproxyCommand(path.join(dir, 'run/master.sock'), 'show proc', 2_000);
  const info = parseShowProc(text);
  if (!info) throw new Error(`unexpected "show proc" answer: ${text}`);
  return info;
}

export type ServerState = RuntimeServer;

export function isMaint(s: ServerState): boolean {
  return runtimeServingState(s) === 'maint';
}

/** Gets new requests: not in maintenance, not draining, weight above 0. */
export function takesTraffic(s: ServerState): boolean {
  return runtimeServingState(s) === 'ready' && s.weight > 0;
}

/**
 * The backend HAProxy serves `svc_<service>` from: a service added after the last reload sits in a
 * spare backend (lb/haproxy/spares.ts), found through the host map by its automatic host.
 */
export async function resolveBackend(dir: string, backend: string): Promise<string> {
  if (!backend.startsWith('svc_')) return backend;
  const hosts = await haproxyCommand(path.join(dir, 'run/admin.sock'), `show map ${path.join(dir, 'hosts.map')}`, 2_000);
  const host = `${backend.slice('svc_'.length)}.${DOMAIN}`;
  return parseShowMap(hosts).find(([key]) => key === host)?.[1] ?? backend;
}

/** `show servers state [backend]` from the admin socket, one object per server (the router's own parser). */
export async function serversState(dir: string, backend?: string): Promise<ServerState[]> {
  if (backend) backend = await resolveBackend(dir, backend);
  const text = await haproxyCommand(path.join(dir, 'run/admin.sock'), `show servers state${backend ? ` ${backend}` : ''}`, 2_000);
  const servers = parseServersState(text);
  if (!servers) throw new Error(`unexpected "show servers state" answer: ${text.slice(0, 300)}`);
  return servers;
}

/** `address:port weight` of every server of `backend` that takes new requests, sorted. */
export async function servedSet(dir: string, backend: string): Promise<string[]> {
  return (await serversState(dir, backend))
    .filter(takesTraffic)
    .map((s) => `${s.address}:${s.port} w${s.weight}`)
    .sort();
}

// ---------------------------------------------------------------- router

/** A `fabric router` child process and its API, whatever its targets. */
export abstract class RouterProcess extends FabricProcess {
  /** How long waitApplied waits unless told. */
  protected applyTimeoutMs = 10_000;

  constructor(
    proc: ManagedProcess,
    url: string,
    readonly configFile: string,
  ) {
    super(proc, url);
  }

  /** Waits for /readyz 200, or (`ready` false) only for /healthz 200. */
  async waitStarted(ready = true): Promise<void> {
    const probe = ready ? '/readyz' : '/healthz';
    const started = () => (ready ? this.isReady() : this.answersItself());
    try {
      await waitUntilReady(this.proc, () => started().catch(() => false), {
        timeoutMs: 20_000,
        what: `${this.proc.name} ${probe} 200`,
      });
    } catch (error) {
      // What the router itself says it waits for.
      const why = await this.get('/readyz').then(
        (r) => r.text,
        (err: Error) => err.message,
      );
      throw new Error(`${(error as Error).message}\n/readyz: ${why}`);
    }
  }

  /** The sum of the series of `name` whose labels include `labels`; 0 when there is none. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return metricSum(await this.metricsText(), name, labels);
  }

  /** Waits until `/v1/status` says every change up to etcd's `revision` is applied to every target, with no error. */
  async waitApplied(revision: number, opts: WaitOptions = {}): Promise<void> {
    await waitFor(
      async () => {
        const s = await this.status();
        return s.appliedRevision >= revision && (s.targets as any[]).every((t) => !t.lastError);
      },
      { timeoutMs: this.applyTimeoutMs, what: `router applied revision ${revision}`, ...opts },
    );
  }

  /** SIGTERM, then makes sure no load balancer the router ran survives. */
  abstract stop(): Promise<unknown>;
}

let routerCounter = 0;

/**
 * Starts `fabric router --config <configFile>` on a free API port and returns at once: it is
 * stopped on release, and its last lines are printed when a test fails.
 */
export async function launchRouter<R extends RouterProcess>(
  res: Resources,
  configFile: string,
  create: (proc: ManagedProcess, url: string) => R,
  opts: { etcdUrl: string; logLevel?: string; name?: string; apiPort?: number; lbOnExit?: 'keep' | 'stop'; nofile?: number; extraArgs?: string[] },
): Promise<R> {
  const listen = `127.0.0.1:${opts.apiPort ?? (await freePort())}`;
  const name = `${opts.name ?? 'router'}-${process.pid}-${++routerCounter}`;
  // A lower descriptor limit (soft and hard) for the router and the HAProxy it starts: prlimit execs node, same pid.
  const [command, prefix] = opts.nofile ? ['prlimit', [`--nofile=${opts.nofile}:${opts.nofile}`, process.execPath]] : [process.execPath, []];
  const proc = startProcess(
    command,
    // Tests stop what they start unless they test the hand-over (`keep`, fabric router's default).
    [
      ...prefix,
      CLI,
      'router',
      '--etcd',
      opts.etcdUrl,
      '--config',
      configFile,
      '--listen',
      listen,
      '--log-level',
      opts.logLevel ?? 'debug',
      '--lb-on-exit',
      opts.lbOnExit ?? 'stop',
      ...(opts.extraArgs ?? []),
    ],
    { name, cwd: ROOT },
  );
  const router = create(proc, `http://${listen}`);
  res.defer(async () => {
    await router.stop();
  });
  watchLogs(proc);
  return router;
}

export interface RouterOptions {
  domain?: string;
  /** Custom template path for the HAProxy target. */
  template?: string;
  debounce?: { min: string; max: string };
  /** Point the router at this etcd URL instead of etcd.endpoint (e.g. a proxy). */
  etcdUrl?: string;
  /** Wait for /readyz 200 (default) or only for /healthz. */
  waitReady?: boolean;
  logLevel?: string;
  /** More router.yaml keys (e.g. healthCheck, routerId), merged over the defaults. */
  config?: Record<string, unknown>;
  /** What the router's exit does to its HAProxy; tests default to `stop`. */
  lbOnExit?: 'keep' | 'stop';
  /** HAProxy's HTTP port; default a free one. */
  httpPort?: number;
  /** The HAProxy binary (e.g. a wrapper that runs it in another network namespace). */
  binary?: string;
  /** Also an HTTPS frontend (`https:`) on a free port: `router.httpsPort`. */
  https?: boolean;
  /** More keys of the HAProxy target (e.g. `spares: 0`, so that a new service reloads). */
  haproxy?: Record<string, unknown>;
  /** The router's (and so HAProxy's) RLIMIT_NOFILE, soft and hard (lower than the test's only). */
  nofile?: number;
  /** More `fabric router` flags (e.g. `--etcd-user`, `--api-token-file`). */
  extraArgs?: string[];
  /** The API token the harness sends (the one in the router's --api-token-file). */
  apiToken?: string;
}

/** A router with one managed HAProxy target (or, from startRouterWithConfig, any targets). */
export class RunningRouter extends RouterProcess {
  /** HAProxy pids seen so far (master and workers), checked after the router stops. */
  private readonly haproxyPids = new Set<number>();
  /** What the router was told to do with HAProxy on exit. */
  lbOnExit: 'keep' | 'stop' = 'stop';
  /** HAProxy's HTTPS frontend, when started with `https: true`. */
  httpsPort: number | undefined;

  constructor(
    proc: ManagedProcess,
    url: string,
    /** HAProxy's shared HTTP frontend. */
    readonly httpPort: number,
    /** The directory of the rendered config: run/master.sock, run/admin.sock, hosts.map, … */
    readonly dir: string,
    configFile: string,
  ) {
    super(proc, url, configFile);
  }

  get dest(): string {
    return path.join(this.dir, 'haproxy.cfg');
  }

  async target(): Promise<any> {
    return (await this.status()).targets[0];
  }

  /** GET through HAProxy's shared frontend. */
  request(host: string, pathname = '/', opts: HttpGetOptions = {}): Promise<HttpResult> {
    return httpGet(this.httpPort, host, pathname, opts);
  }

  async showProc(): Promise<ProcInfo> {
    const info = await haproxyShowProc(this.dir);
    this.haproxyPids.add(info.masterPid);
    for (const pid of info.workers) this.haproxyPids.add(pid);
    return info;
  }

  serversState(backend?: string): Promise<ServerState[]> {
    return serversState(this.dir, backend);
  }

  servedSet(backend: string): Promise<string[]> {
    return servedSet(this.dir, backend);
  }

  config(): string {
    return fs.readFileSync(this.dest, 'utf8');
  }

  /** Reload count as HAProxy's master and as the router's metric see it. */
  async reloads(): Promise<{ master: number; metric: number; failed: number }> {
    const info = await this.showProc();
    return { master: info.reloads, failed: info.failedReloads, metric: await this.metric('fabric_router_reloads_total') };
  }

  /** SIGTERM (the router stops HAProxy itself), then makes sure no HAProxy it ran survives. */
  async stop(): Promise<ExitResult> {
    const result = await this.proc.stop('SIGTERM', 15_000);
    const survivors: number[] = [];
    for (const pid of this.haproxyPids) {
      if (!isAlive(pid) || !isHaproxy(pid)) continue;
      survivors.push(pid);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    // A router run with --lb-on-exit keep leaves HAProxy serving by design; any other survivor is news.
    if (survivors.length && this.lbOnExit !== 'keep') console.warn(`[router test] HAProxy outlived the router: killed ${survivors.join(' ')}`);
    return result;
  }
}

function isHaproxy(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('haproxy');
  } catch {
    return false;
  }
}

/**
 * Starts `fabric router` with a router.yaml in a temp dir: one managed HAProxy target on a free
 * port, rendering to <tmp>/haproxy/haproxy.cfg. Waits for /readyz 200 (HAProxy started).
 */
export async function startRouter(res: Resources, etcd: Pick<EtcdServer, 'endpoint'>, opts: RouterOptions = {}): Promise<RunningRouter> {
  const work = res.tempDir('fabric-router-');
  const [apiPort, freeHttpPort, httpsPort] = (await freePorts(3)) as [number, number, number];
  const httpPort = opts.httpPort ?? freeHttpPort;
  const dir = path.join(work, 'haproxy');
  const target: Record<string, unknown> = { kind: 'haproxy', http: `127.0.0.1:${httpPort}`, dest: path.join(dir, 'haproxy.cfg') };
  if (opts.https) target.https = `127.0.0.1:${httpsPort}`;
  if (opts.template) target.template = opts.template;
  if (opts.binary) target.binary = opts.binary;
  Object.assign(target, opts.haproxy);
  const configFile = writeRouterConfig(work, {
    domain: opts.domain ?? DOMAIN,
    debounce: opts.debounce ?? { min: '20ms', max: '500ms' },
    targets: [target],
    ...opts.config,
  });
  const router = await launchRouter(res, configFile, (proc, url) => new RunningRouter(proc, url, httpPort, dir, configFile), {
    etcdUrl: opts.etcdUrl ?? etcd.endpoint,
    logLevel: opts.logLevel,
    apiPort,
    lbOnExit: opts.lbOnExit,
    ...(opts.nofile ? { nofile: opts.nofile } : {}),
    ...(opts.extraArgs ? { extraArgs: opts.extraArgs } : {}),
  });
  router.apiToken = opts.apiToken;
  router.lbOnExit = opts.lbOnExit ?? 'stop';
  if (opts.https) router.httpsPort = httpsPort;
  await router.waitStarted(opts.waitReady !== false);
  if (opts.waitReady !== false) await router.showProc(); // remember HAProxy's pids
  return router;
}

/**
 * A router started again on `previous`'s router.yaml, and so on the same HAProxy files: what a
 * restart or an upgrade does. `previous` must have exited (or been killed) first.
 */
export async function restartRouter(
  res: Resources,
  previous: RunningRouter,
  etcd: Pick<EtcdServer, 'endpoint'>,
  opts: Pick<RouterOptions, 'etcdUrl' | 'waitReady' | 'lbOnExit'> = {},
): Promise<RunningRouter> {
  const router = await launchRouter(
    res,
    previous.configFile,
    (proc, url) => new RunningRouter(proc, url, previous.httpPort, previous.dir, previous.configFile),
    {
      etcdUrl: opts.etcdUrl ?? etcd.endpoint,
      lbOnExit: opts.lbOnExit,
    },
  );
  router.lbOnExit = opts.lbOnExit ?? 'stop';
  router.httpsPort = previous.httpsPort;
  await router.waitStarted(opts.waitReady !== false);
  if (opts.waitReady !== false) await router.showProc();
  return router;
}

/** The HAProxy masters running `configPath` (a master is an haproxy whose parent is not one). */
export function haproxyMasters(configPath: string): number[] {
  const pids = pidsWithArg(configPath).filter((pid) => isHaproxy(pid));
  return pids.filter((pid) => !pids.includes(parentPid(pid) ?? -1));
}

/**
 * Starts `fabric router` with `config` as its router.yaml as given (any targets, a `confdir:`;
 * no HAProxy unless the config has one). Waits for /readyz 200 unless `waitReady` is false.
 */
export async function startRouterWithConfig(
  res: Resources,
  etcd: EtcdServer,
  config: Record<string, unknown>,
  opts: { waitReady?: boolean; logLevel?: string } = {},
): Promise<RunningRouter> {
  const work = res.tempDir('fabric-router-');
  const configFile = writeRouterConfig(work, { domain: DOMAIN, debounce: { min: '20ms', max: '200ms' }, ...config });
  const router = await launchRouter(res, configFile, (proc, url) => new RunningRouter(proc, url, 0, work, configFile), {
    etcdUrl: etcd.endpoint,
    logLevel: opts.logLevel,
  });
  await router.waitStarted(opts.waitReady !== false);
  return router;
}

/** Writes `config` as `dir`/router.yaml; returns its path. */
export function writeRouterConfig(dir: string, config: Record<string, unknown>): string {
  const configFile = path.join(dir, 'router.yaml');
  fs.writeFileSync(configFile, toYaml(config));
  return configFile;
}

// ---------------------------------------------------------------- agent

let agentCounter = 0;

/** Starts `fabric agent` on the test dockerd, publishing on 127.0.0.1; waits for /readyz 200. */
export async function startAgent(res: Resources, etcd: EtcdServer, opts: AgentOptions = {}): Promise<RunningAgent> {
  assertBuilt(['agent']);
  const agent = await launchAgent(etcd, opts.hostName ?? `rhost-${process.pid}-${++agentCounter}`, opts);
  res.defer(async () => {
    await agent.stop();
  });
  watchLogs(agent.proc);
  await agent.waitStarted();
  return agent;
}

// ---------------------------------------------------------------- etcd

export interface EndpointInput {
  service: string;
  address?: string;
  port: number;
  host?: string;
  container?: string;
  name?: string;
  weight?: number;
  version?: string;
  mode?: 'http' | 'tcp';
  domains?: string[];
  path?: string;
  health?: 'healthy' | 'unhealthy' | 'starting' | 'none';
  state?: 'up' | 'draining';
  /** `fabric.tls`: auto, none or a certificate name. */
  tls?: string;
}

export type EndpointJson = Required<Omit<EndpointInput, 'version' | 'path' | 'tls'>> & Pick<EndpointInput, 'version' | 'path' | 'tls'>;

export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

/** Endpoint JSON as the agent writes it, defaults filled in. */
export function endpoint(input: EndpointInput): EndpointJson {
  const container = input.container ?? newContainerId();
  return {
    service: input.service,
    host: input.host ?? 'h1',
    container,
    name: input.name ?? `c-${container.slice(0, 8)}`,
    address: input.address ?? '127.0.0.1',
    port: input.port,
    weight: input.weight ?? 100,
    ...(input.version ? { version: input.version } : {}),
    mode: input.mode ?? 'http',
    domains: input.domains ?? [],
    ...(input.path ? { path: input.path } : {}),
    ...(input.tls ? { tls: input.tls } : {}),
    health: input.health ?? 'none',
    state: input.state ?? 'up',
  };
}

export function endpointKey(e: { service: string; host: string; container: string }): string {
  return `${PREFIX}/endpoints/${e.service}/${e.host}/${e.container}`;
}

/** An `etcd3` client on `etcd` (or any URL), closed on release. */
export function etcdClient(res: Resources, etcd: EtcdServer | string): Etcd3 {
  const client = new Etcd3(typeof etcd === 'string' ? { hosts: etcd, dialTimeout: 2_000 } : { ...etcd.clientOptions(), dialTimeout: 2_000 });
  res.defer(() => client.close());
  return client;
}

/** Writes endpoint JSON straight into etcd; returns etcd's revision after the put. */
export async function putEndpoint(client: Etcd3, e: EndpointJson): Promise<number> {
  const result = await client.put(endpointKey(e)).value(JSON.stringify(e)).exec();
  return Number(result.header.revision);
}

export async function deleteEndpoint(client: Etcd3, e: EndpointJson): Promise<number> {
  const result = await client.delete().key(endpointKey(e)).exec();
  return Number(result.header.revision);
}

/** `previous` deleted and `next` put in one transaction (one watch event, one plan); returns the revision. */
export async function replaceEndpoint(client: Etcd3, previous: EndpointJson, next: EndpointJson): Promise<number> {
  // etcd3's builder needs a comparison: one that always holds.
  const result = await client
    .if(endpointKey(next), 'Version', '>', -1)
    .then(client.delete().key(endpointKey(previous)), client.put(endpointKey(next)).value(JSON.stringify(next)))
    .commit();
  return Number(result.header.revision);
}

/** Any raw key below the prefix. */
export async function putRaw(client: Etcd3, key: string, value: string): Promise<number> {
  const result = await client.put(`${PREFIX}/${key}`).value(value).exec();
  return Number(result.header.revision);
}

// ---------------------------------------------------------------- backends

export interface WebServer {
  port: number;
  /** What it answers: its own name, so a response tells which backend served it. */
  body: string;
  hits: number;
}

/** Listens on 127.0.0.1 (a free port), closed with `res`: the port. */
export async function listenLoopback(res: Resources, server: http.Server | http2.Http2Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  res.defer(
    () =>
      new Promise<void>((resolve) => {
        // An HTTP/2 server has no closeAllConnections: its caller destroys its sessions (deferred later, run first).
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

/** Small HTTP servers in this process on 127.0.0.1, each answering with its own name. */
export async function startWebServers(res: Resources, names: string[]): Promise<WebServer[]> {
  return Promise.all(
    names.map(async (body) => {
      const ws: WebServer = { port: 0, body, hits: 0 };
      const server = http.createServer((_req, reply) => {
        ws.hits += 1;
        reply.writeHead(200, { 'content-type': 'text/plain' });
        reply.end(body);
      });
      ws.port = await listenLoopback(res, server);
      return ws;
    }),
  );
}

/** A backend whose `/healthz` answers 200 or 503 as the test sets `healthy`; `/` answers its name. */
export interface FlipServer {
  name: string;
  port: number;
  healthy: boolean;
  /** How many health checks it has answered. */
  healthHits: number;
}

export async function startFlipServers(res: Resources, names: string[]): Promise<FlipServer[]> {
  return Promise.all(
    names.map(async (name) => {
      const state: FlipServer = { name, port: 0, healthy: true, healthHits: 0 };
      const server = http.createServer((req, reply) => {
        if (req.url === '/healthz') {
          state.healthHits += 1;
          return reply.writeHead(state.healthy ? 200 : 503).end(state.healthy ? 'ok' : 'sick');
        }
        reply.writeHead(200, { 'content-type': 'text/plain' }).end(name);
      });
      state.port = await listenLoopback(res, server);
      return state;
    }),
  );
}

/** Puts endpoints (with optional extra JSON, e.g. label-derived `check`), deleted when `res` is released; the last revision. */
export async function registerEndpoints(res: Resources, client: Etcd3, endpoints: Array<EndpointJson & Record<string, unknown>>): Promise<number> {
  let revision = 0;
  for (const e of endpoints) {
    revision = await putEndpoint(client, e);
    res.defer(async () => void (await deleteEndpoint(client, e)));
  }
  return revision;
}

/** Until `host` answers through `router` with exactly the bodies in `expected` (as a set). */
export async function waitServed(router: RunningRouter, host: string, expected: string[], timeoutMs = 10_000): Promise<void> {
  const want = [...expected].sort().join(',');
  await waitFor(async () => [...new Set(await bodies(router, host, expected.length * 4))].sort().join(',') === want, {
    timeoutMs,
    what: `${host} served by exactly ${want}`,
  });
}

/** The bodies seen in `n` sequential requests (each on a fresh connection). */
export async function bodies(router: RunningRouter, host: string, n: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await router.request(host);
    seen.push(r.status === 200 ? r.body : `HTTP ${r.status}`);
  }
  return seen;
}

export interface TrafficReport<T> {
  /** What `during` returned. */
  result: T;
  failures: string[];
  total: number;
  /** The bodies answered after `during` finished. */
  seenAfter: Set<string>;
  /** When `during` finished. */
  doneAt: number;
  /** When the last answer came. */
  lastAnswer: number;
}

/**
 * GETs through `request` from two loops side by side, one on fresh connections and one keeping
 * its connection alive, each pacing itself a little: from 20 requests before `during` starts
 * until one second after it finished (at most `maxRequests` in all). Any non-200 is a failure.
 */
export async function trafficDuring<T>(
  request: (opts: HttpGetOptions) => Promise<HttpResult>,
  maxRequests: number,
  during: () => Promise<T>,
): Promise<TrafficReport<T>> {
  const report = { failures: [] as string[], total: 0, seenAfter: new Set<string>(), doneAt: 0, lastAnswer: 0 };
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const worker = async (agent: http.Agent | undefined) => {
    while (report.total < maxRequests && !(report.doneAt && Date.now() > report.doneAt + 1_000)) {
      const n = ++report.total;
      try {
        const res = await request({ timeoutMs: 5_000, agent });
        if (res.status !== 200) report.failures.push(`#${n}: HTTP ${res.status} ${res.body.slice(0, 80)}`);
        else if (report.doneAt) report.seenAfter.add(res.body);
        report.lastAnswer = Date.now();
      } catch (error) {
        report.failures.push(`#${n}: ${(error as Error).message}`);
      }
      await pace(4);
    }
  };
  const loops = Promise.all([worker(undefined), worker(keepAlive)]);
  try {
    await waitFor(() => report.total >= 20, { what: 'the request loop to get going' });
    const result = await during();
    report.doneAt = Date.now();
    await loops;
    return { ...report, result };
  } finally {
    report.doneAt ||= Date.now(); // `during` threw: stop the loops too
    await loops;
    keepAlive.destroy();
  }
}

/** Paces a request loop (not a wait for a condition). */
function pace(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------- a cuttable TCP proxy

/**
 * A TCP proxy in front of etcd that the test can cut: while cut it refuses (accepts and closes)
 * every connection and drops the open ones. Lets a test hold the router away from an etcd that
 * is already back, so "a change made before the router reconnects" is not a race.
 */
export class TcpProxy {
  private constructor(private readonly proxy: CuttableProxy) {}

  static async start(res: Resources, targetPort: number): Promise<TcpProxy> {
    const proxy = await CuttableProxy.start({ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: targetPort });
    res.defer(() => proxy.close());
    return new TcpProxy(proxy);
  }

  get port(): number {
    return this.proxy.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  cut(): void {
    this.proxy.cut();
  }

  restore(): void {
    this.proxy.restore();
  }
}

export { CLI, type HttpResult, httpGet, metricSum, type RunningAgent, testDocker, waitFor };
