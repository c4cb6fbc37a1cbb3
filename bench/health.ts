// The router's active health checks (docs/health-checks.md), against node HTTP servers on 127.0.0.1.
//  j) an endpoint's health path starts failing → it leaves HAProxy's rotation, vs interval × fall
//  k) the router's CPU and RSS while checking 1,000 endpoints every 2 s, vs no checks, same run (the router's own checker)
//  v) 10,000 endpoints checked every 2 s: router and HAProxy CPU, router RSS, HAProxy-run checks vs the router's own, same run
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Namespace } from 'etcd3';
import { startEtcd } from '../test/harness/etcd.js';
import { freePorts } from '../test/harness/ports.js';
import { withDescendants } from '../test/harness/proc-scan.js';
import { startProcess } from '../test/harness/processes.js';
import { waitFor } from '../test/harness/wait.js';
import { DOMAIN, endpoint, etcdClient, get, getJson, type RouterProcess, scrape, startRouter, total, txn, waitApplied } from './lib/fabric.js';
import { cpuTimeMs, type Figure, ms, nowMs, sleep, summarize } from './lib/report.js';
import { Cleanup, type IdServer, startIdServers } from './lib/util.js';

const J_INTERVAL_MS = 500;
const J_FALL = 2;
const J_SAMPLES = 10;
const K_SERVICES = 100;
const K_PER_SERVICE = 10;
const K_INTERVAL = '2s';
const K_WARMUP_MS = 5_000;
const K_MEASURE_MS = 20_000;
const HEALTH_PATH = '/health';

/** An HTTP server answering `/` with its id and HEALTH_PATH with 200 or 500, as set. */
async function startToggleServer(id: string): Promise<{ port: number; setHealthy(ok: boolean): void; close(): Promise<void> }> {
  let healthy = true;
  const server = http.createServer((req, res) => {
    const failing = req.url === HEALTH_PATH && !healthy;
    res.writeHead(failing ? 500 : 200, { 'content-type': 'text/plain' });
    res.end(req.url === HEALTH_PATH ? (failing ? 'failing' : 'ok') : id);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    setHealthy: (ok) => void (healthy = ok),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface ServiceView {
  endpoints: Array<{ healthCheck: { state: string } | null }>;
}

/** j) fail → out of rotation. The probed service has one endpoint, so "out" is HAProxy's first 503. */
export async function benchHealthDetection(): Promise<Figure[]> {
  const cleanup = new Cleanup();
  try {
    const etcd = await startEtcd({ name: 'bench-etcd-j' });
    cleanup.defer('etcd', () => etcd.stop());
    const { client, kv } = etcdClient(etcd.endpoint);
    cleanup.defer('etcd client', () => client.close());
    const target = await startToggleServer('j-0');
    cleanup.defer('toggle server', () => target.close());
    const router = await startRouter({
      etcd: etcd.endpoint,
      name: 'bench-router-j',
      healthCheck: `{interval: ${J_INTERVAL_MS}ms, timeout: 250ms, fall: ${J_FALL}, rise: 2, unconfigured: none}`,
    });
    cleanup.defer('router', () => router.stop());
    const host = `probe.${DOMAIN}`;
    const rev = await txn(kv, [endpoint({ service: 'probe', port: target.port, check: { path: HEALTH_PATH } })]);
    await waitApplied(router, rev, 15_000);
    const reloadsBefore = total(await scrape(router.apiPort), 'fabric_router_reloads_total');

    const samples: number[] = [];
    let failures = 0;
    for (let i = 0; i < J_SAMPLES; i++) {
      target.setHealthy(true);
      // Back in rotation and counted healthy (not `unknown`, which leaves on the first failure).
      await waitFor(async () => (await get(router.httpPort, '/', host)).body === 'j-0', { timeoutMs: 15_000, intervalMs: 20, what: 'endpoint served again' });
      await waitFor(async () => (await getJson<ServiceView>(router.apiPort, '/v1/services/probe')).endpoints[0]?.healthCheck?.state === 'healthy', {
        timeoutMs: 15_000,
        intervalMs: 20,
        what: 'endpoint healthy',
      });
      // A random phase against the check schedule: recovery is seen right after a check.
      await sleep(Math.random() * J_INTERVAL_MS);
      const t0 = nowMs();
      target.setHealthy(false);
      const out = await pollOut(router.httpPort, host, 15_000);
      if (out === undefined) failures += 1;
      else samples.push(out - t0);
    }
    const s = summarize(samples);
    const series = await scrape(router.apiPort);
    return [
      {
        id: 'j',
        name: `health path fails → out of HAProxy's rotation (${J_SAMPLES} samples): p50 / max`,
        value: `${ms(s.p50)} / ${ms(s.max)}`,
        target: `≈ interval × fall = ${J_INTERVAL_MS * J_FALL} ms`,
      },
      { id: 'j', name: 'spread', value: `n=${s.n}${failures ? `, ${failures} timed out` : ''}; min ${ms(s.min)}, p90 ${ms(s.p90)}, mean ${ms(s.mean)}` },
      { id: 'j', name: 'settings', value: `interval ${J_INTERVAL_MS} ms, fall ${J_FALL}, rise 2, timeout 250 ms; HTTP GET ${HEALTH_PATH} → 500` },
      {
        id: 'j',
        name: 'HAProxy reloads during the samples',
        value: String(total(series, 'fabric_router_reloads_total') - reloadsBefore),
        target: '0 (runtime API)',
      },
    ];
  } finally {
    await cleanup.run();
  }
}

/** Requests through HAProxy until one is not served (503: no server left); the time of that answer. */
async function pollOut(port: number, host: string, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const answer = await get(port, '/', host, 5_000).catch(() => undefined);
    if (answer && answer.status !== 200) return nowMs();
    await sleep(1);
  }
  return undefined;
}

interface Phase {
  name: string;
  healthCheck: string;
  check?: { path: string };
}

interface PhaseResult {
  cpuPercent: number;
  rssMiB: number;
  checks: number;
}

/** k) the same 1,000 endpoints under routers with different check settings, one after the other. */
export async function benchHealthCost(): Promise<Figure[]> {
  const cleanup = new Cleanup();
  try {
    const etcd = await startEtcd({ name: 'bench-etcd-k' });
    cleanup.defer('etcd', () => etcd.stop());
    const { client, kv } = etcdClient(etcd.endpoint);
    cleanup.defer('etcd client', () => client.close());
    const pool = await startIdServers(K_SERVICES * K_PER_SERVICE, 'k');
    cleanup.defer('id servers', () => pool.close());
    const phases: Phase[] = [
      { name: 'no checks (unconfigured: none)', healthCheck: '{unconfigured: none}' },
      { name: `TCP checks (unconfigured: tcp, interval ${K_INTERVAL})`, healthCheck: `{interval: ${K_INTERVAL}, unconfigured: tcp, runner: router}` },
      {
        name: `HTTP checks (GET ${HEALTH_PATH}, interval ${K_INTERVAL})`,
        healthCheck: `{interval: ${K_INTERVAL}, unconfigured: none, runner: router}`,
        check: { path: HEALTH_PATH },
      },
    ];
    const figures: Figure[] = [];
    for (const phase of phases) {
      const result = await measurePhase(etcd.endpoint, kv, pool.servers, phase);
      figures.push({
        id: 'k',
        name: `router, 1,000 endpoints, ${phase.name}: CPU over ${K_MEASURE_MS / 1000} s / RSS / checks run`,
        value: `${result.cpuPercent.toFixed(1)} % of one core / ${result.rssMiB.toFixed(0)} MiB / ${result.checks}`,
      });
    }
    figures.push({ id: 'k', name: 'checks expected per phase with checks (1,000 × 20 s ÷ 2 s)', value: '10000' });
    return figures;
  } finally {
    await cleanup.run();
  }
}

async function measurePhase(etcdEndpoint: string, kv: Namespace, servers: IdServer[], phase: Phase): Promise<PhaseResult> {
  // The same keys every phase (a put replaces them): only `check` differs.
  let rev = 0;
  const puts = servers.map((server, i) =>
    endpoint({
      service: `k${String(Math.floor(i / K_PER_SERVICE)).padStart(3, '0')}`,
      container: `${String(i).padStart(32, '0')}`,
      port: server.port,
      check: phase.check,
    }),
  );
  for (let i = 0; i < puts.length; i += 128) rev = await txn(kv, puts.slice(i, i + 128));
  const router: RouterProcess = await startRouter({ etcd: etcdEndpoint, name: 'bench-router-k', healthCheck: phase.healthCheck, readyTimeoutMs: 60_000 });
  try {
    await waitApplied(router, rev, 60_000);
    await sleep(K_WARMUP_MS);
    const checksBefore = total(await scrape(router.apiPort), 'fabric_router_health_checks_total');
    const cpuBefore = cpuTimeMs(router.proc.pid);
    const startedAt = nowMs();
    await sleep(K_MEASURE_MS);
    const cpuAfter = cpuTimeMs(router.proc.pid);
    const wall = nowMs() - startedAt;
    const rssMiB = router.rss().router ?? NaN;
    const checks = total(await scrape(router.apiPort), 'fabric_router_health_checks_total') - checksBefore;
    if (cpuBefore === undefined || cpuAfter === undefined) throw new Error('router exited during the measurement');
    return { cpuPercent: ((cpuAfter - cpuBefore) / wall) * 100, rssMiB, checks };
  } finally {
    await router.stop();
  }
}

const V_SERVICES = 1_000;
const V_PER_SERVICE = 10;
/** Real listening sockets; the 10,000 endpoints point at them in turn (many endpoints per port). */
const V_BACKENDS = 20;
const V_WARMUP_MS = 15_000;
const V_MEASURE_MS = 20_000;

interface VPhase {
  name: string;
  healthCheck: string;
}

interface VResult {
  routerCpu: number;
  haproxyCpu: number;
  rssMiB: number;
  checks: number;
  status: Record<string, unknown> | undefined;
  healthy: number;
}

/** v) 10,000 endpoints with an HTTP check every 2 s: HAProxy runs it (read back once a second) vs the router's own checker. */
export async function benchHealthAtTenThousand(): Promise<Figure[]> {
  const cleanup = new Cleanup();
  try {
    const etcd = await startEtcd({ name: 'bench-etcd-v' });
    cleanup.defer('etcd', () => etcd.stop());
    const { client, kv } = etcdClient(etcd.endpoint);
    cleanup.defer('etcd client', () => client.close());
    // Backends that cost little per check (one nginx process, `return 200`), so 5,000 checks a second measure the checkers, not the backends.
    const pool = await startNginxBackends(V_BACKENDS);
    cleanup.defer('nginx backends', () => pool.close());
    // The same keys every phase; only the label-derived `check` differs (labels ask for a check even with `unconfigured: none`).
    const putAll = async (labelled: boolean) => {
      let rev = 0;
      const puts = Array.from({ length: V_SERVICES * V_PER_SERVICE }, (_, i) =>
        endpoint({
          service: `v${String(Math.floor(i / V_PER_SERVICE)).padStart(4, '0')}`,
          container: `${String(i).padStart(32, '0')}`,
          port: pool.servers[i % V_BACKENDS]!.port,
          ...(labelled ? { check: { path: HEALTH_PATH } } : {}),
        }),
      );
      for (let i = 0; i < puts.length; i += 128) rev = await txn(kv, puts.slice(i, i + 128));
      return rev;
    };
    const phases: Array<VPhase & { labelled: boolean }> = [
      { name: 'no checks', healthCheck: '{unconfigured: none, runner: router}', labelled: false },
      { name: 'HAProxy runs the checks', healthCheck: `{interval: ${K_INTERVAL}, unconfigured: none}`, labelled: true },
      { name: "the router's own checker", healthCheck: `{interval: ${K_INTERVAL}, unconfigured: none, runner: router}`, labelled: true },
    ];
    const results: VResult[] = [];
    for (const phase of phases) {
      console.error(`v) ${phase.name}: starting a router on 10,000 endpoints`);
      results.push(await measureVPhase(etcd.endpoint, await putAll(phase.labelled), phase));
    }
    const [none, haproxy, own] = results as [VResult, VResult, VResult];
    const figures: Figure[] = phases.map((phase, i) => {
      const r = results[i]!;
      return {
        id: 'v',
        name: `10,000 endpoints, ${phase.name}: router CPU / HAProxy CPU over ${V_MEASURE_MS / 1000} s / router RSS / healthy`,
        value: `${r.routerCpu.toFixed(1)} % / ${r.haproxyCpu.toFixed(1)} % of one core / ${r.rssMiB.toFixed(0)} MiB / ${r.healthy}`,
        ...(i === 1 ? { target: '≤ 10 % of one core in the router' } : {}),
      };
    });
    figures.push(
      {
        id: 'v',
        name: 'router CPU above no checks: HAProxy-run / own checker',
        value: `${(haproxy.routerCpu - none.routerCpu).toFixed(1)} % / ${(own.routerCpu - none.routerCpu).toFixed(1)} %`,
      },
      { id: 'v', name: 'ratio of router CPU, own checker ÷ HAProxy-run', value: `${(own.routerCpu / Math.max(haproxy.routerCpu, 0.01)).toFixed(1)}×` },
      { id: 'v', name: "checks the router's own checker ran (expected 10,000 × 20 s ÷ 2 s = 100,000)", value: String(own.checks) },
      { id: 'v', name: 'HAProxy-run: reads of show stat and the last one', value: JSON.stringify(haproxy.status ?? {}) },
    );
    return figures;
  } finally {
    await cleanup.run();
  }
}

async function measureVPhase(etcdEndpoint: string, rev: number, phase: VPhase): Promise<VResult> {
  const router = await startRouter({ etcd: etcdEndpoint, name: 'bench-router-v', healthCheck: phase.healthCheck, readyTimeoutMs: 120_000 });
  try {
    await waitApplied(router, rev, 120_000);
    await sleep(V_WARMUP_MS);
    const haproxyPids = withDescendants([router.proc.pid]).filter((pid) => pid !== router.proc.pid);
    const haproxyCpu = () => haproxyPids.reduce((sum, pid) => sum + (cpuTimeMs(pid) ?? 0), 0);
    // A router saturated by its own probes may not answer its API in time: its counts are then unknown.
    const checksTotal = async () => {
      const series = await scrape(router.apiPort).catch(() => undefined);
      return series ? total(series, 'fabric_router_health_checks_total') : Number.NaN;
    };
    const checksBefore = await checksTotal();
    const cpuBefore = cpuTimeMs(router.proc.pid);
    const haproxyBefore = haproxyCpu();
    const startedAt = nowMs();
    await sleep(V_MEASURE_MS);
    const cpuAfter = cpuTimeMs(router.proc.pid);
    const haproxyAfter = haproxyCpu();
    const wall = nowMs() - startedAt;
    const rssMiB = router.rss().router ?? NaN;
    const checks = (await checksTotal()) - checksBefore;
    if (cpuBefore === undefined || cpuAfter === undefined) throw new Error('router exited during the measurement');
    const status = (await router.status().catch(() => ({}))) as unknown as {
      healthChecks?: Record<string, unknown> & { endpointsByHealth?: Record<string, number> };
    };
    const { endpointsByHealth, ...checkStatus } = status.healthChecks ?? {};
    return {
      routerCpu: ((cpuAfter - cpuBefore) / wall) * 100,
      haproxyCpu: ((haproxyAfter - haproxyBefore) / wall) * 100,
      rssMiB,
      checks,
      status: checkStatus,
      healthy: endpointsByHealth?.healthy ?? 0,
    };
  } finally {
    await router.stop();
  }
}

/** One single-process nginx listening on `n` loopback ports, answering every request 200 "ok". */
async function startNginxBackends(n: number): Promise<{ servers: Array<{ port: number }>; close(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-v-nginx-'));
  const ports = await freePorts(n);
  const listens = ports.map((p) => `listen 127.0.0.1:${p} backlog=4096;`).join(' ');
  const conf = [
    'daemon off; master_process off; worker_processes 1;',
    `pid ${dir}/nginx.pid; error_log ${dir}/error.log;`,
    'events { worker_connections 4096; }',
    `http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};`,
    `  server { ${listens} location / { return 200 "ok\\n"; } } }`,
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const proc = startProcess('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { name: 'bench-v-nginx' });
  await waitFor(async () => (await get(ports[0]!, '/health', 'x').catch(() => undefined))?.status === 200, {
    timeoutMs: 10_000,
    what: 'nginx backends answer',
  });
  return {
    servers: ports.map((port) => ({ port })),
    close: async () => {
      await proc.stop('SIGTERM', 5_000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
