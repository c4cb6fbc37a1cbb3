// x) The router at several sizes in one run (issue 12): services × endpoints from FABRIC_BENCH_SIZES
// (default `0x0,100x10,1000x10,10000x10`: a one-service keyspace, then 1k, 10k and 100k endpoints),
// each on a fresh etcd and router, plus the one "probe" service that is changed. Every figure is
// also printed as a ratio to the one-service run's (the first size), measured in the same run.
import { startEtcd } from '../test/harness/etcd.js';
import { DOMAIN, endpoint, etcdClient, pollServed, type RouterProcess, scrape, startRouter, total, txn, waitApplied } from './lib/fabric.js';
import { type Figure, nowMs, sleep, summarize } from './lib/report.js';
import { Cleanup, type IdServer, mapLimit, startIdServers } from './lib/util.js';

export interface BenchSize {
  services: number;
  endpoints: number;
}

const SAMPLES = 30;
const RELOADS = 3;
const GAP_MS = 50;

/** `10000x10` → 10,000 services × 10 endpoints; a comma-separated list of them. */
export function parseSizes(text: string): BenchSize[] {
  return text.split(',').map((part) => {
    const match = /^(\d+)x(\d+)$/.exec(part.trim());
    if (!match) throw new Error(`bad size "${part}": expected <services>x<endpoints>, e.g. 10000x10`);
    return { services: Number(match[1]), endpoints: Number(match[2]) };
  });
}

interface SizeResult {
  label: string;
  endpoints: number;
  firstApplyMs: number;
  changeP50: number;
  changeP99: number;
  /** The same changes again once the router is idle (settle()): after a start it still reads and ingests its first stat tables. */
  settledP50: number;
  settledP99: number;
  settledAfterMs: number;
  changeFailures: number;
  reloadMs: number;
  coldReadyMs: number;
  coldFirstApplyMs: number;
  rssMaxMiB: number;
  haproxyMaxMiB: number;
  /** Event-loop delay max (ms) while loading, during the endpoint changes, during the reloads and the cold start. */
  loopLoadMs: number;
  loopChangesMs: number;
  loopSettledMs: number;
  loopReloadsMs: number;
  loopColdMs: number;
}

/** Samples the router's (and HAProxy's) RSS every 100 ms until stopped; keeps the maximum. */
function rssSampler(router: () => RouterProcess) {
  const max = { router: 0, haproxy: 0 };
  const timer = setInterval(() => {
    const rss = router().rss();
    max.router = Math.max(max.router, rss.router ?? 0);
    max.haproxy = Math.max(max.haproxy, rss.haproxy);
  }, 100);
  return { max, stop: () => clearInterval(timer) };
}

/** The event-loop delay max (ms) since the previous scrape (each scrape starts a new window). */
async function loopMaxMs(router: RouterProcess): Promise<number> {
  return total(await scrape(router.apiPort, 60_000), 'fabric_router_event_loop_delay_seconds', { stat: 'max' }) * 1000;
}

const hostOf = (service: string) => `${service}.${DOMAIN}`;

/**
 * Waits (at most a minute) until the router is idle: two windows of a second in a row with an
 * event-loop delay max under 50 ms. Returns how long that took.
 */
async function settle(router: RouterProcess): Promise<number> {
  const start = nowMs();
  let quiet = 0;
  await loopMaxMs(router);
  while (quiet < 2 && nowMs() - start < 60_000) {
    await sleep(1_000);
    quiet = (await loopMaxMs(router)) < 50 ? quiet + 1 : 0;
  }
  return nowMs() - start;
}

async function replaceProbe(kv: ReturnType<typeof etcdClient>['kv'], router: RouterProcess, previous: string, server: IdServer) {
  const next = endpoint({ service: 'probe', port: server.port });
  const t0 = nowMs();
  const rev = await txn(kv, [next], [previous]);
  const served = await pollServed(router.httpPort, hostOf('probe'), server.id, { timeoutMs: 10_000 });
  return { key: next.key, rev, ms: served === undefined ? undefined : served - t0 };
}

/**
 * One size: the keyspace is put first, then a router starts on it (cold start to ready), then
 * endpoint changes (runtime path) and new services (render + validate + reload). Loading 10,000
 * new services into a running router is a reload per batch (issue 12 item 2), not measured here.
 */
async function runSize(size: BenchSize): Promise<SizeResult> {
  const cleanup = new Cleanup();
  try {
    const etcd = await startEtcd({ name: 'bench-etcd-x' });
    cleanup.defer('etcd', () => etcd.stop());
    const { client, kv } = etcdClient(etcd.endpoint);
    cleanup.defer('etcd client', () => client.close());
    const pool = await startIdServers(4, 'x');
    cleanup.defer('id servers', () => pool.close());

    const probe = endpoint({ service: 'probe', port: pool.servers[1]!.port });
    const puts = [probe];
    for (let s = 0; s < size.services; s++) {
      for (let e = 0; e < size.endpoints; e++) puts.push(endpoint({ service: `s${String(s).padStart(5, '0')}`, port: pool.servers[0]!.port }));
    }
    const batches = [];
    for (let i = 0; i < puts.length; i += 128) batches.push(puts.slice(i, i + 128));
    const revs = await mapLimit(batches, 4, (batch) => txn(kv, batch));
    let rev = Math.max(...revs);

    // spares: 0, so that a new service is the full render + validate + reload this bench measures (with spares it is not).
    const router = await startRouter({ etcd: etcd.endpoint, name: 'bench-router-x', readyTimeoutMs: 120_000, haproxy: { spares: 0 } });
    const coldReadyMs = nowMs() - router.spawnedAt;
    cleanup.defer('router', () => router.stop());
    const rss = rssSampler(() => router);
    cleanup.defer('rss sampler', async () => rss.stop());
    const coldFirstApplyMs = (await router.status()).targets[0]?.lastApply?.durationMs ?? NaN;
    const loopColdMs = await loopMaxMs(router);
    await waitApplied(router, rev, 120_000);
    await pollServed(router.httpPort, hostOf('probe'), pool.servers[1]!.id, { timeoutMs: 30_000 });
    // Let the deferred file write after the first apply pass (it renders the whole config once).
    await sleep(1_500);
    const loopLoadMs = await loopMaxMs(router);

    // One endpoint change at that size (runtime path), each from idle: right after the start, then once settled.
    let previous = probe.key;
    let changeFailures = 0;
    const changeRound = async () => {
      const samples: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        await waitApplied(router, rev, 60_000);
        await sleep(GAP_MS);
        const result = await replaceProbe(kv, router, previous, pool.servers[2 + (i % 2)]!);
        previous = result.key;
        rev = result.rev;
        if (result.ms === undefined) changeFailures += 1;
        else samples.push(result.ms);
      }
      await waitApplied(router, rev, 60_000);
      await sleep(1_500);
      return { changes: summarize(samples), loopMs: await loopMaxMs(router) };
    };
    const early = await changeRound();
    const loopChangesMs = early.loopMs;
    const settledAfterMs = await settle(router);
    const settled = await changeRound();

    // Full render + validate + reload: a new service needs a new backend.
    const reloads: number[] = [];
    for (let i = 0; i < RELOADS; i++) {
      rev = await txn(kv, [endpoint({ service: `reload${i}`, port: pool.servers[0]!.port })]);
      await waitApplied(router, rev, 120_000);
      const last = (await router.status()).targets[0]?.lastApply;
      if (last?.action === 'reload') reloads.push(last.durationMs);
    }
    const loopReloadsMs = await loopMaxMs(router);
    await sleep(300);
    rss.stop();
    const changes = early.changes;
    return {
      label: size.services === 0 ? 'one service' : `${size.services}×${size.endpoints}`,
      endpoints: puts.length,
      firstApplyMs: coldFirstApplyMs,
      changeP50: changes.p50,
      changeP99: changes.p99,
      settledP50: settled.changes.p50,
      settledP99: settled.changes.p99,
      settledAfterMs,
      changeFailures,
      reloadMs: summarize(reloads).p50,
      coldReadyMs,
      coldFirstApplyMs,
      rssMaxMiB: rss.max.router,
      haproxyMaxMiB: rss.max.haproxy,
      loopLoadMs,
      loopChangesMs,
      loopSettledMs: settled.loopMs,
      loopReloadsMs,
      loopColdMs,
    };
  } finally {
    await cleanup.run();
  }
}

const ROWS: Array<{ name: string; value: (r: SizeResult) => number; unit: 'ms' | 'MiB'; target?: string }> = [
  { name: 'one endpoint change put → served p50', value: (r) => r.changeP50, unit: 'ms', target: '≤ 3× one service' },
  { name: 'one endpoint change put → served p99', value: (r) => r.changeP99, unit: 'ms', target: '≤ 100 ms' },
  { name: 'the same once the router is idle (settled), p50', value: (r) => r.settledP50, unit: 'ms', target: '≤ 3× one service' },
  { name: 'the same once the router is idle (settled), p99', value: (r) => r.settledP99, unit: 'ms', target: '≤ 100 ms' },
  { name: 'time from those first changes until the router was idle', value: (r) => r.settledAfterMs, unit: 'ms' },
  { name: 'full render + validate + reload (new service), lastApply p50', value: (r) => r.reloadMs, unit: 'ms', target: '≤ 3 s' },
  { name: 'cold start: spawn → /readyz 200', value: (r) => r.coldReadyMs, unit: 'ms', target: '≤ 5 s' },
  { name: 'cold start: its first apply (lastApply: render + validate + start)', value: (r) => r.coldFirstApplyMs, unit: 'ms' },
  { name: 'router RSS, max of 100 ms samples over the whole run', value: (r) => r.rssMaxMiB, unit: 'MiB', target: '≤ 1 GiB' },
  { name: 'HAProxy RSS (all its processes), max', value: (r) => r.haproxyMaxMiB, unit: 'MiB' },
  { name: 'event-loop delay max from ready to served + its file write', value: (r) => r.loopLoadMs, unit: 'ms', target: '≤ 50 ms' },
  { name: 'event-loop delay max during the endpoint changes', value: (r) => r.loopChangesMs, unit: 'ms', target: '≤ 50 ms' },
  { name: 'event-loop delay max during the settled changes', value: (r) => r.loopSettledMs, unit: 'ms', target: '≤ 50 ms' },
  { name: 'event-loop delay max during the reloads', value: (r) => r.loopReloadsMs, unit: 'ms', target: '≤ 50 ms' },
  { name: 'event-loop delay max from spawn to ready (cold start)', value: (r) => r.loopColdMs, unit: 'ms', target: '≤ 50 ms' },
];

function format(value: number, unit: 'ms' | 'MiB'): string {
  if (!Number.isFinite(value)) return 'n/a';
  return unit === 'MiB' ? `${value.toFixed(0)} MiB` : value >= 100 ? `${value.toFixed(0)} ms` : `${value.toFixed(1)} ms`;
}

/** x) every size in one run; ratios to the first (one-service) size. */
export async function benchSizes(): Promise<Figure[]> {
  const sizes = parseSizes(process.env.FABRIC_BENCH_SIZES ?? '0x0,100x10,1000x10,10000x10');
  const results: SizeResult[] = [];
  for (const size of sizes) {
    const result = await runSize(size);
    results.push(result);
    console.log(`x: ${result.label} (${result.endpoints} endpoints) done: ${JSON.stringify(result)}`);
  }
  const base = results[0]!;
  const figures: Figure[] = [];
  for (const r of results) {
    const at = `${r.label}, ${r.endpoints.toLocaleString('en')} endpoints`;
    for (const row of ROWS) {
      const value = row.value(r);
      const ratio = r === base ? '' : ` (${(value / row.value(base)).toFixed(1)}× ${base.label})`;
      figures.push({ id: 'x', name: `${at}: ${row.name}`, value: `${format(value, row.unit)}${ratio}`, target: row.target });
    }
    if (r.changeFailures) figures.push({ id: 'x', name: `${at}: endpoint changes timed out`, value: String(r.changeFailures) });
  }
  return figures;
}
