// The fabric's own processes, started from the build (dist/src/cli.js) exactly as a user would,
// plus what benchmarks read from them: /metrics, /v1/status, and the keys in etcd.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3, type Namespace } from 'etcd3';
import { Keys } from '../../src/keyspace.js';
import { freePort } from '../../test/harness/ports.js';
import { withDescendants } from '../../test/harness/proc-scan.js';
import { addExitCleanup, type ManagedProcess, startProcess } from '../../test/harness/processes.js';
import { waitFor } from '../../test/harness/wait.js';
import { rssMiB } from './report.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = path.join(ROOT, 'dist/src/cli.js');
export const PREFIX = '/fabric/';
export const DOMAIN = 'apps.test';

// ---------------------------------------------------------------- HTTP

export interface HttpAnswer {
  status: number;
  body: string;
}

/** One GET on a fresh connection (no keep-alive: every request is routed on its own). */
export function get(port: number, urlPath = '/', host?: string, timeoutMs = 2_000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET 127.0.0.1:${port}${urlPath} timed out`)));
    req.on('error', reject);
  });
}

export async function getJson<T>(port: number, urlPath: string): Promise<T> {
  const answer = await get(port, urlPath);
  return JSON.parse(answer.body) as T;
}

/**
 * Requests `host` through HAProxy (or a port directly) until the answer's body is `body`; returns
 * the wall-clock time of that answer, or undefined when `timeoutMs` passes. `gapMs` between tries
 * bounds the load this puts on a small machine, and is the measurement's resolution.
 */
export async function pollServed(
  port: number,
  host: string | undefined,
  body: string,
  opts: { timeoutMs?: number; gapMs?: number; signal?: AbortSignal; onServed?: (requestMs: number) => void } = {},
): Promise<number | undefined> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  const gap = opts.gapMs ?? 1;
  while (Date.now() < deadline && !opts.signal?.aborted) {
    try {
      // A long per-request timeout: a request HAProxy holds (e.g. its 1 s connect-retry pause) counts in full.
      const sent = performance.now();
      const answer = await get(port, '/', host, 5_000);
      if (answer.status === 200 && answer.body === body) {
        opts.onServed?.(performance.now() - sent);
        return performance.timeOrigin + performance.now();
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, gap));
  }
  return undefined;
}

// ---------------------------------------------------------------- metrics and status

/** Prometheus text → `name{labels}` → value. */
/** `timeoutMs`: a router blocked at size answers late, and the bench measures that block, not dies of it. */
export async function scrape(port: number, timeoutMs = 2_000): Promise<Map<string, number>> {
  const { body } = await get(port, '/metrics', undefined, timeoutMs);
  const series = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    series.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return series;
}

/** Sum of a metric's series whose labels include all of `labels` (every series when none are given). */
export function total(series: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const [key, value] of series) {
    if (key !== name && !key.startsWith(`${name}{`)) continue;
    const labelText = key.slice(name.length);
    if (wanted.every((w) => labelText.includes(w))) sum += value;
  }
  return sum;
}

export interface RouterStatus {
  state: string;
  appliedRevision: number;
  etcd: { revision: number; keys: number };
  targets: Array<{
    name: string;
    state: string;
    lastApply?: { at: string; revision: number; action: string; detail?: string; durationMs: number };
    lastError?: { code: string; message: string };
    counters: { applies: number; reloads: number; runtimeUpdates: number; failures: number };
  }>;
}

/** The router's own apply durations (its "applied" log lines) for one action, oldest first. */
export function appliedDurations(proc: ManagedProcess, action: string): number[] {
  const out: number[] = [];
  for (const line of proc.lines()) {
    if (!line.includes('"msg":"applied"')) continue;
    try {
      const entry = JSON.parse(line) as { action?: string; durationMs?: number };
      if (entry.action === action && typeof entry.durationMs === 'number') out.push(entry.durationMs);
    } catch {
      // not JSON
    }
  }
  return out;
}

// ---------------------------------------------------------------- processes

export interface FabricProcess {
  proc: ManagedProcess;
  apiPort: number;
  /** Wall-clock time just before the spawn. */
  spawnedAt: number;
  stop(): Promise<void>;
}

export async function startAgent(opts: { etcd: string; dockerHost: string; hostName: string; resync?: string; name?: string }): Promise<FabricProcess> {
  const apiPort = await freePort();
  const args = [
    CLI,
    'agent',
    '--etcd',
    opts.etcd,
    '--docker',
    opts.dockerHost,
    '--host-ip',
    '127.0.0.1',
    '--host-name',
    opts.hostName,
    '--listen',
    `127.0.0.1:${apiPort}`,
    '--resync-interval',
    opts.resync ?? '30s',
  ];
  const spawnedAt = performance.timeOrigin + performance.now();
  const proc = startProcess(process.execPath, args, { name: opts.name ?? 'bench-agent' });
  return { proc, apiPort, spawnedAt, stop: async () => void (await proc.stop('SIGTERM', 10_000)) };
}

export interface RouterProcess extends FabricProcess {
  httpPort: number;
  /** HAProxy's HTTPS frontend, when started with `tls`. */
  httpsPort?: number;
  /** nginx's HTTP listener, when the router was started with an nginx target too. */
  nginxPort?: number;
  dir: string;
  status(): Promise<RouterStatus>;
  /** Router, HAProxy master and workers: RSS in MiB. */
  rss(): { router: number | undefined; haproxy: number; haproxyProcesses: number };
}

export interface RouterOptions {
  etcd: string;
  name?: string;
  readyTimeoutMs?: number;
  /** router.yaml's `healthCheck` as YAML flow text; default `{unconfigured: none}`. */
  healthCheck?: string;
  /** Also a managed nginx target (after HAProxy: targets apply in order); targets are then named haproxy and nginx, and rss().haproxy counts nginx's processes too. */
  nginx?: {
    minReloadInterval?: string /** The target's `dynamic` (run-time upstreams through the Lua module; default on where it is installed). */;
    dynamic?: boolean;
  };
  /** HTTPS on HAProxy (`https:`), certificates decrypted with this key file (`tls.keyFile`). */
  tls?: { keyFile: string };
  /** HAProxy's HTTP port (default: a free one); an ACME CA validates against a port it is told beforehand. */
  httpPort?: number;
  /** More router.yaml, appended as it is (e.g. a `tls:` block). */
  extraConfig?: string;
  /** More keys of the HAProxy target, e.g. `{ spares: 0 }` (every new service reloads). */
  haproxy?: Record<string, number | string>;
  /** Flags for the router's node (e.g. `--cpu-prof`); default: FABRIC_BENCH_ROUTER_NODE_ARGS, split on spaces. */
  nodeArgs?: string[];
}

/** A router with one managed HAProxy target on a free loopback port (and optionally nginx); waits for its first apply. */
export async function startRouter(opts: RouterOptions): Promise<RouterProcess> {
  // Short path: HAProxy's sockets live under it (unix socket paths are limited to 108 bytes).
  const dir = fs.mkdtempSync('/tmp/fb-');
  const [apiPort, httpPort] = [await freePort(), opts.httpPort ?? (await freePort())];
  const nginxPort = opts.nginx ? await freePort() : undefined;
  const httpsPort = opts.tls ? await freePort() : undefined;
  const config = path.join(dir, 'router.yaml');
  // No default TCP checks: the benches measure the config pipeline, and their endpoints are not all live.
  const https = httpsPort ? `    https: 127.0.0.1:${httpsPort}\n` : '';
  const haproxyExtra = Object.entries(opts.haproxy ?? {})
    .map(([key, value]) => `    ${key}: ${value}\n`)
    .join('');
  // FABRIC_BENCH_HAPROXY_TEMPLATE: another HAProxy template for the bench routers (an experiment's config).
  const template = process.env.FABRIC_BENCH_HAPROXY_TEMPLATE ? `    template: ${process.env.FABRIC_BENCH_HAPROXY_TEMPLATE}\n` : '';
  const targets = [
    `  - kind: haproxy\n${opts.nginx ? '    name: haproxy\n' : ''}    http: 127.0.0.1:${httpPort}\n${https}    dest: ${dir}/haproxy.cfg\n${haproxyExtra}${template}`,
  ];
  if (opts.nginx) {
    fs.mkdirSync(path.join(dir, 'nginx'));
    const interval = opts.nginx.minReloadInterval ? `    minReloadInterval: ${opts.nginx.minReloadInterval}\n` : '';
    const dynamic = opts.nginx.dynamic === undefined ? '' : `    dynamic: ${opts.nginx.dynamic}\n`;
    targets.push(`  - kind: nginx\n    name: nginx\n    http: 127.0.0.1:${nginxPort}\n    dest: ${dir}/nginx/nginx.conf\n${interval}${dynamic}`);
  }
  const tls = opts.tls ? `tls: {keyFile: ${opts.tls.keyFile}}\n` : '';
  fs.writeFileSync(
    config,
    `domain: ${DOMAIN}\nhealthCheck: ${opts.healthCheck ?? '{unconfigured: none}'}\n${tls}${opts.extraConfig ?? ''}targets:\n${targets.join('')}`,
  );
  const spawnedAt = performance.timeOrigin + performance.now();
  const proc = startProcess(
    process.execPath,
    [...(opts.nodeArgs ?? routerNodeArgs()), CLI, 'router', '--etcd', opts.etcd, '--config', config, '--listen', `127.0.0.1:${apiPort}`],
    {
      name: opts.name ?? 'bench-router',
    },
  );
  const status = () => getJson<RouterStatus>(apiPort, '/v1/status');
  // An aborted run SIGKILLs the router, which cannot stop its HAProxy then: do it by pid here.
  const killBelow = () => {
    for (const pid of withDescendants([proc.pid]).filter((p) => p !== proc.pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const forgetExitCleanup = addExitCleanup(killBelow);
  const router: RouterProcess = {
    proc,
    apiPort,
    httpPort,
    httpsPort,
    nginxPort,
    dir,
    spawnedAt,
    status,
    rss: () => {
      const haproxy = withDescendants([proc.pid]).filter((pid) => pid !== proc.pid);
      return {
        router: rssMiB(proc.pid),
        haproxy: haproxy.reduce((sum, pid) => sum + (rssMiB(pid) ?? 0), 0),
        haproxyProcesses: haproxy.length,
      };
    },
    stop: async () => {
      // The router stops its HAProxy; anything left below it is ours and goes by pid.
      const below = withDescendants([proc.pid]).filter((pid) => pid !== proc.pid);
      await proc.stop('SIGTERM', 10_000);
      for (const pid of below) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      forgetExitCleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(async () => (await get(apiPort, '/readyz')).status === 200, {
      timeoutMs: opts.readyTimeoutMs ?? 30_000,
      intervalMs: 10,
      what: 'router /readyz',
    });
  } catch (error) {
    await router.stop();
    throw new Error(`${(error as Error).message}\n${proc.lines().slice(-20).join('\n')}`);
  }
  return router;
}

function routerNodeArgs(): string[] {
  return (process.env.FABRIC_BENCH_ROUTER_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

// ---------------------------------------------------------------- etcd

export function etcdClient(endpoint: string): { client: Etcd3; kv: Namespace } {
  const client = new Etcd3({ hosts: endpoint, dialTimeout: 3_000 });
  return { client, kv: client.namespace(PREFIX) };
}

export function containerId(): string {
  return randomBytes(16).toString('hex');
}

export interface EndpointSpec {
  service: string;
  host?: string;
  container?: string;
  port: number;
  health?: 'healthy' | 'unhealthy' | 'starting' | 'none';
  state?: 'up' | 'draining';
  /** An active health check, as the agent writes it from a container's labels. */
  check?: { path?: string; intervalMs?: number };
}

/** An endpoint as the agent would write it (src/model/endpoint.ts): its key and JSON. */
export function endpoint(spec: EndpointSpec): { key: string; value: string } {
  const host = spec.host ?? 'bench';
  const container = spec.container ?? containerId();
  const value = JSON.stringify({
    service: spec.service,
    host,
    container,
    name: `${spec.service}-${container.slice(0, 8)}`,
    address: '127.0.0.1',
    port: spec.port,
    weight: 100,
    mode: 'http',
    domains: [],
    health: spec.health ?? 'none',
    state: spec.state ?? 'up',
    ...(spec.check ? { check: spec.check } : {}),
  });
  return { key: `endpoints/${spec.service}/${host}/${container}`, value };
}

/** Puts and deletes in one transaction (etcd3's builder needs a comparison that always holds). Returns the revision. */
export async function txn(kv: Namespace, puts: Array<{ key: string; value: string }>, deletes: string[] = []): Promise<number> {
  if (puts.length + deletes.length > 128) throw new Error('etcd allows at most 128 operations per transaction');
  const guard = puts[0]?.key ?? deletes[0]!;
  const result = await kv
    .if(guard, 'Version', '>', -1)
    .then(...deletes.map((key) => kv.delete().key(key)), ...puts.map(({ key, value }) => kv.put(key).value(value)))
    .commit();
  return Number(result.header.revision);
}

export async function revision(kv: Namespace): Promise<number> {
  const result = await kv.getAll().prefix('').limit(1).exec();
  return Number(result.header.revision);
}

/** Waits until the router has applied revision `rev` (or later); returns when that was seen. */
export async function waitApplied(router: RouterProcess, rev: number, timeoutMs = 30_000): Promise<number> {
  await waitFor(async () => (await router.status()).appliedRevision >= rev, { timeoutMs, intervalMs: 10, what: `router applied revision ${rev}` });
  return performance.timeOrigin + performance.now();
}

/** Where an agent on `host` writes the endpoints of `service` (the host-scoped layout, src/keyspace.ts). */
export function agentEndpointsPrefix(host: string, service: string): string {
  return `${Keys.hostRoot(host)}endpoints/${service}/`;
}
