// Router benchmarks (issue 3) with a real etcd and the router's own HAProxy; the endpoints are
// small node HTTP servers on 127.0.0.1 that answer their own id.
//  d) etcd put of an endpoint → first request served by it through HAProxy
//  g) the same change through the runtime path vs. a change that forces a reload, as a ratio
//  f) 1,000 services × 10 endpoints: first apply, one change at that size, RSS, cold start
import type { Namespace } from 'etcd3';
import { startEtcd } from '../test/harness/etcd.js';
import {
  appliedDurations,
  DOMAIN,
  endpoint,
  etcdClient,
  get,
  pollServed,
  type RouterProcess,
  scrape,
  startRouter,
  total,
  txn,
  waitApplied,
} from './lib/fabric.js';
import { type Figure, latencyFigures, ms, nowMs, sleep, summarize } from './lib/report.js';
import { Cleanup, type IdServer, startIdServers } from './lib/util.js';
import { parseSizes } from './scale.js';

const D_SAMPLES = 60;
const G_PAIRS = 20;
/** f's size: FABRIC_BENCH_SIZE (`<services>x<endpoints>`, e.g. 10000x10), default 1,000 × 10. Bench x runs several sizes at once. */
const [F_SIZE] = parseSizes(process.env.FABRIC_BENCH_SIZE ?? '1000x10');
const F_SERVICES = F_SIZE!.services;
const F_ENDPOINTS = F_SIZE!.endpoints;
const F_SAMPLES = 20;
/** Quiet time between samples, above the debounce minimum (20 ms), so each change starts from idle. */
const GAP_MS = 50;

/**
 * Before a sample: the previous change fully applied (the router answers "served" before it has
 * also rendered and written the config file; a change arriving meanwhile would wait for that).
 */
async function settle(router: RouterProcess, rev: number): Promise<void> {
  await waitApplied(router, rev, 30_000);
}

const hostOf = (service: string) => `${service}.${DOMAIN}`;

/**
 * One endpoint change: in one transaction the service's previous endpoint is deleted and a new
 * one (another server) put, so the new one is the only server and the first answer with its id
 * is "the first request served by it". Returns put → served in ms, or undefined on timeout.
 */
async function replaceEndpoint(kv: Namespace, router: RouterProcess, service: string, previous: string | undefined, server: IdServer) {
  const next = endpoint({ service, port: server.port });
  const t0 = nowMs();
  const rev = await txn(kv, [next], previous ? [previous] : []);
  const served = await pollServed(router.httpPort, hostOf(service), server.id, { timeoutMs: 10_000 });
  return { key: next.key, rev, ms: served === undefined ? undefined : served - t0 };
}

/** A new service with one endpoint: a new backend, so HAProxy must reload. */
async function newService(kv: Namespace, router: RouterProcess, service: string, server: IdServer) {
  const t0 = nowMs();
  const rev = await txn(kv, [endpoint({ service, port: server.port })]);
  const served = await pollServed(router.httpPort, hostOf(service), server.id, { timeoutMs: 15_000 });
  return { rev, ms: served === undefined ? undefined : served - t0 };
}

async function reloads(router: RouterProcess): Promise<number> {
  return total(await scrape(router.apiPort), 'fabric_router_reloads_total');
}

/** d) and g) on one small router: 10 background services × 3 endpoints plus the probed ones. */
export async function benchPutToServed(): Promise<Figure[]> {
  const cleanup = new Cleanup();
  try {
    const etcd = await startEtcd({ name: 'bench-etcd-d' });
    cleanup.defer('etcd', () => etcd.stop());
    const { client, kv } = etcdClient(etcd.endpoint);
    cleanup.defer('etcd client', () => client.close());
    const pool = await startIdServers(8, 'd');
    cleanup.defer('id servers', () => pool.close());
    // Spare backends off: g measures the reload a new service forces without them (bench w measures them).
    const router = await startRouter({ etcd: etcd.endpoint, name: 'bench-router-d', haproxy: { spares: 0 } });
    cleanup.defer('router', () => router.stop());

    const background = [];
    for (let s = 0; s < 10; s++) for (let e = 0; e < 3; e++) background.push(endpoint({ service: `bg${s}`, port: pool.servers[e]!.port }));
    await txn(kv, background);
    const server = (i: number) => pool.servers[i % pool.servers.length]!;
    // The probed service's first endpoint creates its backend (a reload); not counted.
    const warmup = await replaceEndpoint(kv, router, 'probe', undefined, server(0));
    let previous = warmup.key;
    // HAProxy serves a reload before the router has verified and counted it: settle first.
    await waitApplied(router, warmup.rev, 15_000);

    // d)
    let lastRev = warmup.rev;
    const reloadsBefore = await reloads(router);
    const samples: number[] = [];
    let failures = 0;
    for (let i = 1; i <= D_SAMPLES; i++) {
      await settle(router, lastRev);
      await sleep(GAP_MS);
      const result = await replaceEndpoint(kv, router, 'probe', previous, server(i));
      previous = result.key;
      lastRev = result.rev;
      if (result.ms === undefined) failures += 1;
      else samples.push(result.ms);
    }
    await waitApplied(router, lastRev, 15_000);
    const reloadsDuringD = (await reloads(router)) - reloadsBefore;
    const runtimeApplies = appliedDurations(router.proc, 'runtime').slice(-D_SAMPLES);
    const reloadAppliesBefore = appliedDurations(router.proc, 'reload').length;

    // g) interleaved, so both kinds see the same machine state.
    const fast: number[] = [];
    const forced: number[] = [];
    let gFailures = 0;
    const gReloadsBefore = await reloads(router);
    for (let i = 0; i < G_PAIRS; i++) {
      await settle(router, lastRev);
      await sleep(GAP_MS);
      const result = await replaceEndpoint(kv, router, 'probe', previous, server(D_SAMPLES + 1 + i));
      previous = result.key;
      lastRev = result.rev;
      if (result.ms === undefined) gFailures += 1;
      else fast.push(result.ms);
      await settle(router, lastRev);
      await sleep(GAP_MS);
      const reload = await newService(kv, router, `g${i}`, server(i));
      lastRev = reload.rev;
      if (reload.ms === undefined) gFailures += 1;
      else forced.push(reload.ms);
    }
    await waitApplied(router, lastRev, 15_000);
    const gReloads = (await reloads(router)) - gReloadsBefore;
    const reloadApplies = appliedDurations(router.proc, 'reload').slice(reloadAppliesBefore);
    const fastP50 = summarize(fast).p50;
    const forcedP50 = summarize(forced).p50;
    return [
      ...latencyFigures(
        'd',
        `etcd put → first request served by it (${D_SAMPLES} samples, runtime path)`,
        samples,
        { p50: '≤ 20 ms', p99: '≤ 100 ms' },
        failures,
      ),
      { id: 'd', name: 'HAProxy reloads during those changes', value: String(reloadsDuringD), target: '0 (fast path)' },
      {
        id: 'd',
        name: "router's own apply time for those changes (log durationMs): p50 / max",
        value: `${ms(summarize(runtimeApplies).p50)} / ${ms(summarize(runtimeApplies).max)} (n=${runtimeApplies.length})`,
      },
      { id: 'g', name: `fast path (endpoint replaced, runtime API): p50 of ${fast.length}`, value: ms(fastP50) },
      { id: 'g', name: `forced reload (new service → new backend): p50 of ${forced.length}`, value: ms(forcedP50) },
      { id: 'g', name: 'forced reload p50 / fast path p50', value: `${(forcedP50 / fastP50).toFixed(1)}×` },
      { id: 'g', name: 'p99 fast / forced', value: `${ms(summarize(fast).p99)} / ${ms(summarize(forced).p99)}${gFailures ? ` (${gFailures} timed out)` : ''}` },
      { id: 'g', name: `reloads counted during g (expect ${G_PAIRS}: one per new service)`, value: String(gReloads) },
      {
        id: 'g',
        name: "router's own apply time of those reloads (log durationMs): p50 / max",
        value: `${ms(summarize(reloadApplies).p50)} / ${ms(summarize(reloadApplies).max)} (n=${reloadApplies.length})`,
      },
    ];
  } finally {
    await cleanup.run();
  }
}

function rssText(router: RouterProcess): string {
  const rss = router.rss();
  return `router ${rss.router?.toFixed(0) ?? '?'} MiB; HAProxy ${rss.haproxy.toFixed(0)} MiB over ${rss.haproxyProcesses} processes`;
}

/** f) 1,000 services × 10 endpoints (or FABRIC_BENCH_SIZE). */
export async function benchAtScale(): Promise<Figure[]> {
  const cleanup = new Cleanup();
  try {
    const etcd = await startEtcd({ name: 'bench-etcd-f' });
    cleanup.defer('etcd', () => etcd.stop());
    const { client, kv } = etcdClient(etcd.endpoint);
    cleanup.defer('etcd client', () => client.close());
    const pool = await startIdServers(4, 'f');
    cleanup.defer('id servers', () => pool.close());
    let router = await startRouter({ etcd: etcd.endpoint, name: 'bench-router-f' });
    cleanup.defer('router', () => router.stop());

    // The bulk services all point at one server; "probe" (the 1,001st) is the one changed later.
    const puts = [endpoint({ service: 'probe', port: pool.servers[1]!.port })];
    for (let s = 0; s < F_SERVICES; s++) {
      for (let e = 0; e < F_ENDPOINTS; e++) puts.push(endpoint({ service: `s${String(s).padStart(4, '0')}`, port: pool.servers[0]!.port }));
    }
    const before = await scrape(router.apiPort);
    const loadStart = nowMs();
    let lastRev = 0;
    for (let i = 0; i < puts.length; i += 128) lastRev = await txn(kv, puts.slice(i, i + 128));
    const lastPutAt = nowMs();
    const applied = await waitApplied(router, lastRev, 120_000);
    const status = await router.status();
    const after = await scrape(router.apiPort);
    const lastApply = status.targets[0]?.lastApply;
    const histCount = total(after, 'fabric_router_event_to_applied_seconds_count') - total(before, 'fabric_router_event_to_applied_seconds_count');
    const histSum = total(after, 'fabric_router_event_to_applied_seconds_sum') - total(before, 'fabric_router_event_to_applied_seconds_sum');
    const reloadsDuringLoad = total(after, 'fabric_router_reloads_total') - total(before, 'fabric_router_reloads_total');
    const check = await get(router.httpPort, '/', hostOf(`s${String(F_SERVICES - 1).padStart(4, '0')}`));
    const figures: Figure[] = [
      { id: 'f', name: `loading ${puts.length} endpoints (${Math.ceil(puts.length / 128)} txns of ≤128 puts)`, value: ms(lastPutAt - loadStart) },
      { id: 'f', name: 'last put → router applied it (seen on /v1/status, 10 ms polls)', value: ms(applied - lastPutAt) },
      {
        id: 'f',
        name: 'that last apply, lastApply.durationMs (render + validate + swap + reload + verify)',
        value: `${lastApply ? ms(lastApply.durationMs) : 'n/a'} (${lastApply?.action ?? '?'}: ${lastApply?.detail ?? ''})`,
        target: '≤ 1 s',
      },
      {
        id: 'f',
        name: 'applies while loading (event_to_applied count; mean; reloads)',
        value: `${histCount}; ${ms((histSum / histCount) * 1000)}; ${reloadsDuringLoad}`,
      },
      { id: 'f', name: 'last service served through HAProxy after the load', value: `${check.status} ${check.body}` },
      { id: 'f', name: `RSS at ${F_SERVICES + 1} services / ${puts.length} endpoints`, value: rssText(router), target: 'router ≤ 200 MB' },
    ];

    // One endpoint change at that size (runtime path).
    await pollServed(router.httpPort, hostOf('probe'), pool.servers[1]!.id, { timeoutMs: 10_000 });
    await waitApplied(router, lastRev, 30_000);
    let previous = puts[0]!.key;
    const samples: number[] = [];
    const rssDuring: number[] = [];
    let failures = 0;
    const reloadsBefore = total(await scrape(router.apiPort), 'fabric_router_reloads_total');
    for (let i = 0; i < F_SAMPLES; i++) {
      await settle(router, lastRev);
      await sleep(GAP_MS);
      const result = await replaceEndpoint(kv, router, 'probe', previous, pool.servers[2 + (i % 2)]!);
      previous = result.key;
      lastRev = result.rev;
      if (result.ms === undefined) failures += 1;
      else samples.push(result.ms);
      const rss = router.rss().router;
      if (rss !== undefined) rssDuring.push(rss);
    }
    await waitApplied(router, lastRev, 30_000);
    const afterChanges = await scrape(router.apiPort);
    const changeStatus = await router.status();
    figures.push(
      ...latencyFigures('f', `one endpoint change at that size: put → served (${F_SAMPLES} samples)`, samples, { p50: '≤ 20 ms', p99: '≤ 100 ms' }, failures),
      {
        id: 'f',
        name: "reloads during those changes; last one's lastApply.durationMs",
        value: `${total(afterChanges, 'fabric_router_reloads_total') - reloadsBefore}; ${ms(changeStatus.targets[0]?.lastApply?.durationMs ?? NaN)} (${changeStatus.targets[0]?.lastApply?.action})`,
      },
      {
        id: 'f',
        name: 'router RSS after each of those changes: min / max (V8 heap, GC-driven)',
        value: `${Math.min(...rssDuring).toFixed(0)} / ${Math.max(...rssDuring).toFixed(0)} MiB`,
        target: '≤ 200 MB',
      },
      { id: 'f', name: 'RSS after the changes', value: rssText(router) },
    );

    // Cold start at that size: a new router on the full keyspace.
    await router.stop();
    router = await startRouter({ etcd: etcd.endpoint, name: 'bench-router-f2', readyTimeoutMs: 120_000 });
    const readyAt = nowMs();
    const cold = (await router.status()).targets[0]?.lastApply;
    figures.push(
      { id: 'f', name: 'cold start on that keyspace: spawn → /readyz 200', value: ms(readyAt - router.spawnedAt) },
      {
        id: 'f',
        name: 'cold start: its first apply, lastApply.durationMs',
        value: `${cold ? ms(cold.durationMs) : 'n/a'} (${cold?.action ?? '?'})`,
        target: '≤ 1 s',
      },
      { id: 'f', name: 'RSS after the cold start', value: rssText(router) },
    );
    return figures;
  } finally {
    await cleanup.run();
  }
}

export async function routerOnlyBenchmarks(): Promise<Figure[]> {
  return [...(await benchPutToServed()), ...(await benchAtScale())];
}
