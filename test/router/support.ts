// Helpers for the router's end-to-end tests: the real `fabric router` (which starts and supervises
// a real HAProxy) and `fabric agent` as child processes, endpoint JSON written straight into a
// real etcd, plain HTTP through HAProxy, and HAProxy's own CLI sockets to see what it runs.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { afterEach } from 'vitest';
import { stringify as toYaml } from 'yaml';
import {
  CuttableProxy,
  freePort,
  freePorts,
  isAlive,
  startProcess,
  testDocker,
  waitFor,
  waitUntilReady,
  type EtcdServer,
  type ExitResult,
  type ManagedProcess,
  type WaitOptions,
} from '../harness/index.js';
import { haproxyCommand, parseShowProc, type ProcInfo } from '../../lb/haproxy/socket.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'dist/src/cli.js');
export const DEFAULT_TEMPLATE = path.join(ROOT, 'templates/haproxy.cfg.hbs');
export const PREFIX = '/fabric';
export const DOMAIN = 'apps.test';

/**
 * The tests drive the built command line: refuse to test a stale build. The agent's sources are
 * checked only by startAgent, so work in progress there does not stop the router-only tests.
 */
function assertBuilt(dirs: string[]): void {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npx tsc -p .\` first`);
  for (const dir of dirs) {
    for (const file of fs.readdirSync(path.join(ROOT, dir))) {
      if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
      const built = path.join(ROOT, 'dist', dir, file.replace(/\.ts$/, '.js'));
      const source = path.join(ROOT, dir, file);
      if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < fs.statSync(source).mtimeMs) {
        throw new Error(`${path.relative(ROOT, built)} is older than ${dir}/${file}: run \`npx tsc -p .\` first`);
      }
    }
  }
}
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

// ---------------------------------------------------------------- HTTP

export interface HttpResult {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/**
 * One GET over a fresh connection (no keep-alive unless an agent is given), with a deadline.
 * On a kept-alive connection the server may close the idle socket just as the next request goes out
 * (nginx's old workers do at every reload): like curl, Go's net/http and browsers, the request is then
 * sent once more on a new connection, since a GET that got no response byte is safe to retry
 * (RFC 9110 §9.2.2). Anything else is a failure.
 */
export async function httpGet(port: number, host: string, pathname = '/', opts: { timeoutMs?: number; agent?: http.Agent } = {}): Promise<HttpResult> {
  try {
    return await httpGetOnce(port, host, pathname, opts);
  } catch (error) {
    if (!(error instanceof ReusedSocketClosed)) throw error;
    return httpGetOnce(port, host, pathname, opts);
  }
}

class ReusedSocketClosed extends Error {}

function httpGetOnce(port: number, host: string, pathname: string, opts: { timeoutMs?: number; agent?: http.Agent }): Promise<HttpResult> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  return new Promise((resolve, reject) => {
    let responded = false;
    const req = http.request(
      { host: '127.0.0.1', port, path: pathname, method: 'GET', headers: { host }, agent: opts.agent ?? false },
      (res) => {
        responded = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET http://${host}${pathname} via :${port} timed out after ${timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      const closedBeforeAnswer = !responded && req.reusedSocket && (error.code === 'ECONNRESET' || error.message === 'socket hang up');
      reject(closedBeforeAnswer ? new ReusedSocketClosed(error.message) : error);
    });
    req.end();
  });
}

async function getJson(url: string): Promise<{ status: number; text: string; json: any }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

/** Sums the series of `name` whose labels include `labels` (Prometheus text format); 0 when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const seriesLabels: Record<string, string> = {};
    for (const m of (match[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) seriesLabels[m[1]!] = m[2]!;
    if (Object.entries(labels).every(([k, v]) => seriesLabels[k] === v)) total += Number(match[4]);
  }
  return total;
}

// ---------------------------------------------------------------- HAProxy sockets

/** The master CLI's `show proc` of the HAProxy a router runs in `dir` (the dest's directory). */
export async function haproxyShowProc(dir: string): Promise<ProcInfo> {
  const text = await haproxyCommand(path.join(dir, 'run/master.sock'), 'show proc', 2_000);
  const info = parseShowProc(text);
  if (!info) throw new Error(`unexpected "show proc" answer: ${text}`);
  return info;
}

export interface ServerState {
  backend: string;
  name: string;
  address: string;
  port: number;
  /** 0 stopped, 1 starting, 2 running, 3 stopping. */
  opState: number;
  /** Bit field: 0x01 forced maint, 0x08 forced drain, … */
  adminState: number;
  weight: number;
}

// HAProxy 2.6 SRV_ADMF_MAINT (forced, inherited, resolution): 0x04 (CMAINT) only records that the
// config said "disabled", and stays set after `set server state ready`.
const ADMIN_MAINT = 0x01 | 0x02 | 0x20;
const ADMIN_DRAIN = 0x08 | 0x10;

export function isMaint(s: ServerState): boolean {
  return (s.adminState & ADMIN_MAINT) !== 0;
}

/** Gets new requests: not in maintenance, not draining, weight above 0. */
export function takesTraffic(s: ServerState): boolean {
  return !isMaint(s) && (s.adminState & ADMIN_DRAIN) === 0 && s.weight > 0;
}

/** `show servers state [backend]` from the admin socket, one object per server. */
export async function serversState(dir: string, backend?: string): Promise<ServerState[]> {
  const text = await haproxyCommand(path.join(dir, 'run/admin.sock'), `show servers state${backend ? ` ${backend}` : ''}`, 2_000);
  const lines = text.split('\n');
  const header = lines.find((l) => l.startsWith('# be_id'));
  if (!header) throw new Error(`unexpected "show servers state" answer: ${text.slice(0, 300)}`);
  const names = header.slice(2).trim().split(/\s+/);
  const col = (fields: string[], name: string) => fields[names.indexOf(name)] ?? '';
  return lines
    .filter((l) => l.trim() && !l.startsWith('#') && /^\d+\s/.test(l))
    .map((l) => {
      const f = l.trim().split(/\s+/);
      return {
        backend: col(f, 'be_name'),
        name: col(f, 'srv_name'),
        address: col(f, 'srv_addr'),
        port: Number(col(f, 'srv_port')),
        opState: Number(col(f, 'srv_op_state')),
        adminState: Number(col(f, 'srv_admin_state')),
        weight: Number(col(f, 'srv_uweight')),
      };
    });
}

/** `address:port weight` of every server of `backend` that takes new requests, sorted. */
export async function servedSet(dir: string, backend: string): Promise<string[]> {
  return (await serversState(dir, backend))
    .filter(takesTraffic)
    .map((s) => `${s.address}:${s.port} w${s.weight}`)
    .sort();
}

// ---------------------------------------------------------------- router

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
}

export class RunningRouter {
  /** HAProxy pids seen so far (master and workers), checked after the router stops. */
  private readonly haproxyPids = new Set<number>();

  constructor(
    readonly proc: ManagedProcess,
    readonly url: string,
    /** HAProxy's shared HTTP frontend. */
    readonly httpPort: number,
    /** The directory of the rendered config: run/master.sock, run/admin.sock, hosts.map, … */
    readonly dir: string,
    readonly configFile: string,
  ) {}

  get dest(): string {
    return path.join(this.dir, 'haproxy.cfg');
  }

  get(pathname: string) {
    return getJson(`${this.url}${pathname}`);
  }

  async status(): Promise<any> {
    return (await this.get('/v1/status')).json;
  }

  async target(): Promise<any> {
    return (await this.status()).targets[0];
  }

  async isReady(): Promise<boolean> {
    return (await this.get('/readyz')).status === 200;
  }

  async metricsText(): Promise<string> {
    const res = await this.get('/metrics');
    if (res.status !== 200) throw new Error(`/metrics: HTTP ${res.status}`);
    return res.text;
  }

  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return metricValue(await this.metricsText(), name, labels);
  }

  /** GET through HAProxy's shared frontend. */
  request(host: string, pathname = '/', opts: { timeoutMs?: number; agent?: http.Agent } = {}): Promise<HttpResult> {
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

  /** Waits until `/v1/status` says every change up to etcd's `revision` is applied. */
  async waitApplied(revision: number, opts: WaitOptions = {}): Promise<void> {
    await waitFor(
      async () => {
        const s = await this.status();
        return s.appliedRevision >= revision && s.targets.every((t: any) => !t.lastError);
      },
      { timeoutMs: 10_000, what: `router applied revision ${revision}`, ...opts },
    );
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
    if (survivors.length) console.warn(`[router test] HAProxy outlived the router: killed ${survivors.join(' ')}`);
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

let routerCounter = 0;

/**
 * Starts `fabric router` with a router.yaml in a temp dir: one managed HAProxy target on a free
 * port, rendering to <tmp>/haproxy/haproxy.cfg. Waits for /readyz 200 (HAProxy started).
 */
export async function startRouter(res: Resources, etcd: EtcdServer, opts: RouterOptions = {}): Promise<RunningRouter> {
  const work = res.tempDir('fabric-router-');
  const [apiPort, httpPort] = (await freePorts(2)) as [number, number];
  const dir = path.join(work, 'haproxy');
  const configFile = path.join(work, 'router.yaml');
  const target: Record<string, unknown> = { kind: 'haproxy', http: `127.0.0.1:${httpPort}`, dest: path.join(dir, 'haproxy.cfg') };
  if (opts.template) target.template = opts.template;
  fs.writeFileSync(
    configFile,
    toYaml({ domain: opts.domain ?? DOMAIN, debounce: opts.debounce ?? { min: '20ms', max: '500ms' }, targets: [target], ...opts.config }),
  );
  const listen = `127.0.0.1:${apiPort}`;
  const name = `router-${process.pid}-${++routerCounter}`;
  const proc = startProcess(
    process.execPath,
    [CLI, 'router', '--etcd', opts.etcdUrl ?? etcd.endpoint, '--config', configFile, '--listen', listen, '--log-level', opts.logLevel ?? 'debug'],
    { name, cwd: ROOT },
  );
  const router = new RunningRouter(proc, `http://${listen}`, httpPort, dir, configFile);
  res.defer(async () => {
    await router.stop();
  });
  watchLogs(proc);
  if (opts.waitReady === false) {
    await waitUntilReady(proc, () => router.get('/healthz').then((r) => r.status === 200).catch(() => false), {
      timeoutMs: 15_000,
      what: `${name} /healthz`,
    });
  } else {
    await waitUntilReady(proc, () => router.isReady().catch(() => false), { timeoutMs: 20_000, what: `${name} /readyz 200` });
    await router.showProc(); // remember HAProxy's pids
  }
  return router;
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
  const configFile = path.join(work, 'router.yaml');
  fs.writeFileSync(configFile, toYaml({ domain: DOMAIN, debounce: { min: '20ms', max: '200ms' }, ...config }));
  const listen = `127.0.0.1:${await freePort()}`;
  const name = `router-${process.pid}-${++routerCounter}`;
  const proc = startProcess(
    process.execPath,
    [CLI, 'router', '--etcd', etcd.endpoint, '--config', configFile, '--listen', listen, '--log-level', opts.logLevel ?? 'debug'],
    { name, cwd: ROOT },
  );
  const router = new RunningRouter(proc, `http://${listen}`, 0, work, configFile);
  res.defer(async () => {
    await router.stop();
  });
  watchLogs(proc);
  const probe = opts.waitReady === false ? () => router.get('/healthz').then((r) => r.status === 200) : () => router.isReady();
  await waitUntilReady(proc, () => probe().catch(() => false), { timeoutMs: 20_000, what: `${name} ${opts.waitReady === false ? '/healthz' : '/readyz'} 200` });
  return router;
}

// ---------------------------------------------------------------- agent

export class RunningAgent {
  constructor(
    readonly proc: ManagedProcess,
    readonly url: string,
    readonly hostName: string,
  ) {}

  get(pathname: string) {
    return getJson(`${this.url}${pathname}`);
  }

  async status(): Promise<any> {
    return (await this.get('/v1/status')).json;
  }

  stop(): Promise<ExitResult> {
    return this.proc.stop('SIGTERM', 12_000);
  }
}

let agentCounter = 0;

/** Starts `fabric agent` on the test dockerd, publishing on 127.0.0.1; waits for /readyz 200. */
export async function startAgent(res: Resources, etcd: EtcdServer, opts: { hostName?: string } = {}): Promise<RunningAgent> {
  assertBuilt(['agent']);
  const port = await freePort();
  const hostName = opts.hostName ?? `rhost-${process.pid}-${++agentCounter}`;
  const listen = `127.0.0.1:${port}`;
  const proc = startProcess(
    process.execPath,
    [CLI, 'agent', '--etcd', etcd.endpoint, '--docker', testDocker().dockerHost, '--host-ip', '127.0.0.1', '--host-name', hostName,
      '--listen', listen, '--ttl', '15s', '--log-level', 'debug'],
    { name: `agent-${hostName}`, cwd: ROOT },
  );
  const agent = new RunningAgent(proc, `http://${listen}`, hostName);
  res.defer(async () => {
    await agent.stop();
  });
  watchLogs(proc);
  await waitUntilReady(proc, () => agent.get('/readyz').then((r) => r.status === 200).catch(() => false), {
    timeoutMs: 15_000,
    what: `agent ${hostName} /readyz 200`,
  });
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
}

export type EndpointJson = Required<Omit<EndpointInput, 'version' | 'path'>> & Pick<EndpointInput, 'version' | 'path'>;

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

/** Small HTTP servers in this process on 127.0.0.1, each answering with its own name. */
export async function startWebServers(res: Resources, names: string[]): Promise<WebServer[]> {
  return Promise.all(
    names.map(async (body) => {
      const server = http.createServer((_req, reply) => {
        ws.hits += 1;
        reply.writeHead(200, { 'content-type': 'text/plain' });
        reply.end(body);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      const ws: WebServer = { port: (server.address() as net.AddressInfo).port, body, hits: 0 };
      res.defer(
        () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      );
      return ws;
    }),
  );
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

export { testDocker, waitFor };
