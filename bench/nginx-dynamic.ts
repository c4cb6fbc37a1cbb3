// ng) nginx without reloads (lb/nginx/dynamic): endpoint changes through the Lua module's shared
// dict, next to HAProxy's Runtime API on one router; the endpoints are node HTTP servers on 127.0.0.1.
//  - put → served through HAProxy and through nginx (dynamic), same samples, and their ratio
//  - 1,000 endpoint changes back to back → nginx reloads (0 expected) and time to the final state
//  - the same put → served with 10,000 more endpoints in the keyspace, and its reloads
//  - the Lua balancer against plain upstreams (a second router, dynamic: false): nginx's own CPU per
//    request (/proc utime + stime of its master and workers over the same bounded load), and requests/s
import type { Namespace } from 'etcd3';
import { startEtcd } from '../test/harness/etcd.js';
import { DOMAIN, endpoint, etcdClient, pollServed, type RouterProcess, scrape, startRouter, total, txn, waitApplied } from './lib/fabric.js';
import { findWrk, httpLoad, type LoadResult } from './lib/http-load.js';
import { type CpuDelta, clockTicksPerSecond, cpuDelta, nginxPidsBelow, processTicks, sampleCpu } from './lib/proc-cpu.js';
import { type Figure, latencyFigures, ms, nowMs, sleep, summarize } from './lib/report.js';
import { Cleanup, type IdServer, startIdServers } from './lib/util.js';

const SAMPLES = 20;
const GAP_MS = 100;
const CHANGES = 1_000;
const BULK = 10_000;
// 20,000 requests a round: at tens of µs each, over a hundred clock ticks of nginx CPU, far above the tick.
const LOAD_REQUESTS = 20_000;
const LOAD_ROUNDS = 5;
const WARMUP_REQUESTS = 2_000;
const LOAD_CONNECTIONS = 8;
const LOAD_TIME_LIMIT_MS = 90_000;
const HOST = `probe.${DOMAIN}`;

async function nginxReloads(router: RouterProcess): Promise<number> {
  return total(await scrape(router.apiPort), 'fabric_router_reloads_total', { target: 'nginx' });
}

/** `SAMPLES` replacements of the probe's only endpoint: put → served through HAProxy and nginx. */
async function putToServed(kv: Namespace, router: RouterProcess, servers: IdServer[], previous: { key: string }) {
  const viaHaproxy: number[] = [];
  const viaNginx: number[] = [];
  let failures = 0;
  let lastRev = 0;
  for (let i = 1; i <= SAMPLES; i++) {
    await sleep(GAP_MS);
    const server = servers[i % servers.length]!;
    const next = endpoint({ service: 'probe', port: server.port });
    const t0 = nowMs();
    lastRev = await txn(kv, [next], [previous.key]);
    previous.key = next.key;
    const [h, n] = await Promise.all([
      pollServed(router.httpPort, HOST, server.id, { timeoutMs: 15_000 }),
      pollServed(router.nginxPort!, HOST, server.id, { timeoutMs: 15_000 }),
    ]);
    if (h === undefined || n === undefined) failures += 1;
    else {
      viaHaproxy.push(h - t0);
      viaNginx.push(n - t0);
    }
    await waitApplied(router, lastRev, 30_000);
  }
  return { viaHaproxy, viaNginx, failures };
}

/** One nginx under one bounded load: what the client saw, and what nginx's processes spent on it. */
interface NginxCost {
  load: LoadResult;
  cpu: CpuDelta;
  /** nginx processes measured (master + workers). */
  processes: number;
  /** Workers that appeared during the load (a reload): their CPU is not counted. */
  born: number[];
  /** The bench's own node process over the same load (the upstream servers, and the client when it is node's). */
  benchTicks: number;
}

/** `requests` GETs through a router's nginx; the CPU of its master and workers read before and after. */
async function costed(router: RouterProcess, requests: number, wrk: string | undefined): Promise<NginxCost> {
  const pids = nginxPidsBelow(router.proc.pid);
  if (pids.length === 0) throw new Error(`no nginx process below router pid ${router.proc.pid}`);
  const before = sampleCpu(pids);
  const benchBefore = processTicks(process.pid)!;
  const load = await httpLoad({ port: router.nginxPort!, host: HOST, requests, connections: LOAD_CONNECTIONS, timeLimitMs: LOAD_TIME_LIMIT_MS }, wrk);
  const benchAfter = processTicks(process.pid)!;
  const cpu = cpuDelta(before, sampleCpu(pids));
  const born = nginxPidsBelow(router.proc.pid).filter((pid) => !before.has(pid));
  const benchTicks = benchAfter.user + benchAfter.system - benchBefore.user - benchBefore.system;
  return { load, cpu, processes: pids.length, born, benchTicks };
}

/**
 * `LOAD_ROUNDS` rounds of the same load through both nginx, after a warm-up of each; which goes first
 * alternates, so a change in the machine's other load falls on both.
 */
async function compareCost(lua: RouterProcess, plain: RouterProcess, wrk: string | undefined): Promise<{ lua: NginxCost[]; plain: NginxCost[] }> {
  await costed(lua, WARMUP_REQUESTS, wrk); // connections, the Lua code, the per-worker peer cache
  await costed(plain, WARMUP_REQUESTS, wrk);
  const rounds = { lua: [] as NginxCost[], plain: [] as NginxCost[] };
  for (let round = 0; round < LOAD_ROUNDS; round++) {
    const order = round % 2 === 0 ? (['lua', 'plain'] as const) : (['plain', 'lua'] as const);
    for (const which of order) rounds[which].push(await costed(which === 'lua' ? lua : plain, LOAD_REQUESTS, wrk));
  }
  return rounds;
}

/** Rounds added up: ticks, answers, time. */
function sum(rounds: NginxCost[]) {
  const add = (f: (c: NginxCost) => number) => rounds.reduce((total, c) => total + f(c), 0);
  return {
    user: add((c) => c.cpu.user),
    system: add((c) => c.cpu.system),
    completed: add((c) => c.load.completed),
    failures: add((c) => c.load.failures),
    unsent: add((c) => c.load.unsent),
    elapsedMs: add((c) => c.load.elapsedMs),
    benchTicks: add((c) => c.benchTicks),
    gone: add((c) => c.cpu.gone.length),
    born: add((c) => c.born.length),
    processes: Math.max(...rounds.map((c) => c.processes)),
  };
}

function costFigures(rounds: { lua: NginxCost[]; plain: NginxCost[] }, ticksPerSecond: number): Figure[] {
  const [lua, plain] = [sum(rounds.lua), sum(rounds.plain)];
  const client = rounds.lua[0]!.load.client;
  const how = `${LOAD_ROUNDS} rounds × ${LOAD_REQUESTS.toLocaleString('en')} GETs × ${LOAD_CONNECTIONS} keep-alive connections, client ${client}`;
  const us = (ticks: number, answers: number) => ((ticks / ticksPerSecond) * 1e6) / answers;
  const [luaUs, plainUs] = [us(lua.user + lua.system, lua.completed), us(plain.user + plain.system, plain.completed)];
  const perRound = (cs: NginxCost[]) => cs.map((c) => us(c.cpu.user + c.cpu.system, c.load.completed).toFixed(1)).join(', ');
  const caveats = (t: ReturnType<typeof sum>) =>
    [t.gone ? `${t.gone} nginx process(es) exited during a load` : '', t.born ? `${t.born} started during one` : ''].filter(Boolean).join(', ');
  const ticks = (t: ReturnType<typeof sum>) =>
    `user ${t.user} + sys ${t.system} ticks over ${t.completed.toLocaleString('en')} answers (${t.processes} processes${t.gone || t.born ? `; ${caveats(t)}` : ''})`;
  return [
    {
      id: 'ng',
      name: `nginx CPU per request (/proc utime + stime, master + workers), ${how}: Lua balancer / plain upstreams`,
      value: `${luaUs.toFixed(1)} / ${plainUs.toFixed(1)} µs (${(luaUs / plainUs).toFixed(2)}×; ${luaUs >= plainUs ? '+' : ''}${(luaUs - plainUs).toFixed(1)} µs)`,
    },
    {
      id: 'ng',
      name: `nginx CPU: user time per request (the Lua code runs in user space): Lua balancer / plain upstreams`,
      value: `${us(lua.user, lua.completed).toFixed(1)} / ${us(plain.user, plain.completed).toFixed(1)} µs`,
    },
    { id: 'ng', name: 'nginx CPU per request, each round: Lua balancer; plain upstreams', value: `${perRound(rounds.lua)}; ${perRound(rounds.plain)} µs` },
    {
      id: 'ng',
      name: `nginx CPU: the ticks behind it (CLK_TCK ${ticksPerSecond}); the bench's node process (upstreams${client === 'node' ? ' + client' : ''}) meanwhile`,
      value: `Lua: ${ticks(lua)}; plain: ${ticks(plain)}; bench ${lua.benchTicks} / ${plain.benchTicks} ticks`,
    },
    {
      id: 'ng',
      name: `requests/s through nginx, ${how}: Lua balancer / plain upstreams`,
      value: `${((lua.completed / lua.elapsedMs) * 1_000).toFixed(0)} / ${((plain.completed / plain.elapsedMs) * 1_000).toFixed(0)}; failures ${lua.failures} / ${plain.failures}${lua.unsent || plain.unsent ? `; left unsent at the time limit ${lua.unsent} / ${plain.unsent}` : ''}`,
    },
  ];
}

export async function benchNginxDynamic(): Promise<Figure[]> {
  const cleanup = new Cleanup();
  try {
    const etcd = await startEtcd({ name: 'bench-etcd-ng' });
    cleanup.defer('etcd', () => etcd.stop());
    const { client, kv } = etcdClient(etcd.endpoint);
    cleanup.defer('etcd client', () => client.close());
    const pool = await startIdServers(9, 'ng');
    cleanup.defer('id servers', () => pool.close());
    const router = await startRouter({ etcd: etcd.endpoint, name: 'bench-router-ng', nginx: {} });
    cleanup.defer('router', () => router.stop());
    const nginxTarget = async () => ((await router.status()).targets as Array<{ name: string; limitations?: string[] }>).find((t) => t.name === 'nginx');
    const off = (await nginxTarget())?.limitations?.find((l) => /Lua module/.test(l));
    if (off) return [{ id: 'ng', name: 'nginx run-time upstreams', value: `not measured: ${off}` }];

    // The probe service exists (routed by host from the dict: no reload), then everything below is peers only.
    const first = endpoint({ service: 'probe', port: pool.servers[0]!.port });
    await waitApplied(router, await txn(kv, [first]), 15_000);
    await pollServed(router.nginxPort!, HOST, pool.servers[0]!.id, { timeoutMs: 15_000 });
    const previous = { key: first.key };
    const reloads0 = await nginxReloads(router);
    const small = await putToServed(kv, router, pool.servers.slice(0, 8), previous);
    const reloads1 = await nginxReloads(router);

    // 1,000 replacements back to back, each its own txn; the last points at a server used only for it.
    const final = pool.servers[8]!;
    const burstStart = nowMs();
    let lastRev = 0;
    for (let i = 1; i <= CHANGES; i++) {
      const server = i === CHANGES ? final : pool.servers[i % 8]!;
      const next = endpoint({ service: 'probe', port: server.port });
      lastRev = await txn(kv, [next], [previous.key]);
      previous.key = next.key;
    }
    const burstDone = nowMs();
    const servedFinal = await pollServed(router.nginxPort!, HOST, final.id, { timeoutMs: 30_000 });
    await waitApplied(router, lastRev, 30_000);
    const reloads2 = await nginxReloads(router);

    // 10,000 more endpoints (another service, plain: routed by host from the dict, no reload), then the same samples.
    const bulkStart = nowMs();
    for (let i = 0; i < BULK; i += 128) {
      const batch = Array.from({ length: Math.min(128, BULK - i) }, (_, j) => endpoint({ service: 'bulk', port: 20_000 + ((i + j) % 40_000) }));
      lastRev = await txn(kv, batch);
    }
    await waitApplied(router, lastRev, 120_000);
    const bulkMs = nowMs() - bulkStart;
    const reloads3 = await nginxReloads(router);
    const large = await putToServed(kv, router, pool.servers.slice(0, 8), previous);
    const reloads4 = await nginxReloads(router);

    // Throughput: the same probe (4 servers) through this nginx and through one with plain upstreams: nginx CPU per request, requests/s.
    for (let i = 1; i < 4; i++) lastRev = await txn(kv, [endpoint({ service: 'probe', port: pool.servers[i]!.port })]);
    await waitApplied(router, lastRev, 30_000);
    const plain = await startRouter({ etcd: etcd.endpoint, name: 'bench-router-ng-plain', nginx: { dynamic: false } });
    cleanup.defer('plain router', () => plain.stop());
    await waitApplied(plain, lastRev, 60_000);
    const cost = await compareCost(router, plain, findWrk());

    const [sh, sn] = [summarize(small.viaHaproxy), summarize(small.viaNginx)];
    const [lh, ln] = [summarize(large.viaHaproxy), summarize(large.viaNginx)];
    return [
      ...latencyFigures('ng', `put → served through HAProxy (Runtime API; ${SAMPLES} samples)`, small.viaHaproxy, {}, small.failures),
      ...latencyFigures('ng', 'put → served through nginx (run-time upstreams, no reload)', small.viaNginx, {}, small.failures),
      {
        id: 'ng',
        name: 'nginx ÷ HAProxy: p50 / p99 (same samples)',
        value: `${(sn.p50 / sh.p50).toFixed(2)}× / ${(sn.p99 / sh.p99).toFixed(2)}×`,
        target: '≤ 2×',
      },
      { id: 'ng', name: `nginx reloads during the ${SAMPLES} samples`, value: String(reloads1 - reloads0), target: '0' },
      { id: 'ng', name: `${CHANGES} endpoint changes (one txn each, sequential): first put → last committed`, value: ms(burstDone - burstStart) },
      { id: 'ng', name: `nginx reloads for the ${CHANGES} changes`, value: String(reloads2 - reloads1), target: '0' },
      {
        id: 'ng',
        name: 'nginx serves the final state: after the last put',
        value: servedFinal === undefined ? 'not served in 30 s' : ms(servedFinal - burstDone),
      },
      {
        id: 'ng',
        name: `${BULK.toLocaleString('en')} more endpoints put (79 txns) → applied; nginx reloads for them`,
        value: `${ms(bulkMs)}; ${reloads3 - reloads2}`,
        target: '0 (a plain new service)',
      },
      ...latencyFigures('ng', `at ${BULK.toLocaleString('en')} endpoints: put → served through HAProxy`, large.viaHaproxy, {}, large.failures),
      ...latencyFigures('ng', `at ${BULK.toLocaleString('en')} endpoints: put → served through nginx`, large.viaNginx, {}, large.failures),
      {
        id: 'ng',
        name: `at ${BULK.toLocaleString('en')} endpoints: nginx ÷ HAProxy p50; nginx reloads`,
        value: `${(ln.p50 / lh.p50).toFixed(2)}×; ${reloads4 - reloads3}`,
        target: '0 reloads',
      },
      ...costFigures(cost, clockTicksPerSecond()),
    ];
  } finally {
    await cleanup.run();
  }
}
