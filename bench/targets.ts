// nginx next to HAProxy on one router (docs/targets.md, nginx): the same endpoint changes, seen
// through both; the endpoints are small node HTTP servers on 127.0.0.1 that answer their own id.
//  h) etcd put of an endpoint → first request served by it, HAProxy (runtime API) vs nginx (reload),
//     minReloadInterval 100 ms, samples spaced beyond it; the ratio from the same samples
//  i) nginx burst folding: 200 endpoint changes as fast as etcd takes them (minReloadInterval 1 s,
//     the default) → reloads per target and time until each serves the final state
import type { Namespace } from 'etcd3';
import { startEtcd } from '../test/harness/etcd.js';
import { DOMAIN, endpoint, etcdClient, pollServed, type RouterProcess, scrape, startRouter, total, txn, waitApplied } from './lib/fabric.js';
import { type Figure, latencyFigures, ms, nowMs, sleep, summarize } from './lib/report.js';
import { Cleanup, type IdServer, startIdServers } from './lib/util.js';

const H_SAMPLES = 30;
const H_MIN_RELOAD_INTERVAL_MS = 100;
/** Quiet time between h's samples: beyond minReloadInterval, so no sample waits for the previous reload's pacing. */
const H_GAP_MS = 250;
const I_CHANGES = 200;
const HOST = `probe.${DOMAIN}`;

async function reloadsByTarget(router: RouterProcess): Promise<{ haproxy: number; nginx: number }> {
  const series = await scrape(router.apiPort);
  return {
    haproxy: total(series, 'fabric_router_reloads_total', { target: 'haproxy' }),
    nginx: total(series, 'fabric_router_reloads_total', { target: 'nginx' }),
  };
}

/** A router with HAProxy then nginx on one etcd, plus `n` id servers; everything deferred to `cleanup`. */
async function setUp(cleanup: Cleanup, name: string, servers: number, minReloadInterval?: string) {
  const etcd = await startEtcd({ name: `bench-etcd-${name}` });
  cleanup.defer('etcd', () => etcd.stop());
  const { client, kv } = etcdClient(etcd.endpoint);
  cleanup.defer('etcd client', () => client.close());
  const pool = await startIdServers(servers, name);
  cleanup.defer('id servers', () => pool.close());
  const router = await startRouter({ etcd: etcd.endpoint, name: `bench-router-${name}`, nginx: { minReloadInterval } });
  cleanup.defer('router', () => router.stop());
  return { kv, pool, router };
}

/** The probed service's first endpoint: creates its backend / upstream (a reload in both); settles it. */
async function firstEndpoint(kv: Namespace, router: RouterProcess, server: IdServer): Promise<{ key: string; rev: number }> {
  const first = endpoint({ service: 'probe', port: server.port });
  const rev = await txn(kv, [first]);
  await pollServed(router.httpPort, HOST, server.id, { timeoutMs: 15_000 });
  await pollServed(router.nginxPort!, HOST, server.id, { timeoutMs: 15_000 });
  await waitApplied(router, rev, 15_000);
  return { key: first.key, rev };
}

/** h) one router, both targets, the same changes: put → served through each. */
export async function benchNginxVsHaproxy(): Promise<Figure[]> {
  const cleanup = new Cleanup();
  try {
    const { kv, pool, router } = await setUp(cleanup, 'h', 8, `${H_MIN_RELOAD_INTERVAL_MS}ms`);
    const server = (i: number) => pool.servers[i % pool.servers.length]!;
    let { key: previous, rev: lastRev } = await firstEndpoint(kv, router, server(0));
    const before = await reloadsByTarget(router);
    const viaHaproxy: number[] = [];
    const viaNginx: number[] = [];
    const ratios: number[] = [];
    let failures = 0;
    for (let i = 1; i <= H_SAMPLES; i++) {
      await waitApplied(router, lastRev, 30_000);
      await sleep(H_GAP_MS);
      // Delete the previous endpoint and put a new one in one txn: the new one is the only server.
      const next = endpoint({ service: 'probe', port: server(i).port });
      const t0 = nowMs();
      lastRev = await txn(kv, [next], [previous]);
      previous = next.key;
      const [h, n] = await Promise.all([
        pollServed(router.httpPort, HOST, server(i).id, { timeoutMs: 15_000 }),
        pollServed(router.nginxPort!, HOST, server(i).id, { timeoutMs: 15_000 }),
      ]);
      if (h === undefined || n === undefined) {
        failures += 1;
        continue;
      }
      viaHaproxy.push(h - t0);
      viaNginx.push(n - t0);
      ratios.push((n - t0) / (h - t0));
    }
    await waitApplied(router, lastRev, 30_000);
    const after = await reloadsByTarget(router);
    const [sh, sn] = [summarize(viaHaproxy), summarize(viaNginx)];
    return [
      ...latencyFigures('h', `put → served through HAProxy (runtime API; ${H_SAMPLES} samples)`, viaHaproxy, {}, failures),
      ...latencyFigures('h', `put → served through nginx (reload, minReloadInterval ${H_MIN_RELOAD_INTERVAL_MS} ms)`, viaNginx, {}, failures),
      { id: 'h', name: 'nginx ÷ HAProxy: p50 / p99 (same samples)', value: `${(sn.p50 / sh.p50).toFixed(1)}× / ${(sn.p99 / sh.p99).toFixed(1)}×` },
      {
        id: 'h',
        name: 'nginx ÷ HAProxy per sample: p50 (min–max)',
        value: `${summarize(ratios).p50.toFixed(1)}× (${summarize(ratios).min.toFixed(1)}–${summarize(ratios).max.toFixed(1)}×)`,
      },
      {
        id: 'h',
        name: 'fabric_router_reloads_total during the samples: haproxy / nginx',
        value: `${after.haproxy - before.haproxy} / ${after.nginx - before.nginx}`,
        target: `0 / ${H_SAMPLES}`,
      },
      { id: 'h', name: 'quiet time between samples (after the previous change was applied)', value: `${H_GAP_MS} ms` },
    ];
  } finally {
    await cleanup.run();
  }
}

/** i) a burst of endpoint changes, each its own txn, with nginx's default minReloadInterval (1 s). */
export async function benchNginxBurst(): Promise<Figure[]> {
  const cleanup = new Cleanup();
  try {
    // Servers 0..7 take the burst's intermediate states; the last one is only ever the final state.
    const { kv, pool, router } = await setUp(cleanup, 'i', 9);
    const final = pool.servers[8]!;
    let { key: previous } = await firstEndpoint(kv, router, pool.servers[0]!);
    // The first endpoint's reload started the 1 s pacing: wait it out, so the burst starts from idle.
    await sleep(1_100);
    const before = await reloadsByTarget(router);
    const firstPutAt = nowMs();
    let lastRev = 0;
    const revs: number[] = [];
    let lastPutAt = 0;
    for (let i = 1; i <= I_CHANGES; i++) {
      const server = i === I_CHANGES ? final : pool.servers[i % 8]!;
      const next = endpoint({ service: 'probe', port: server.port });
      lastPutAt = nowMs();
      lastRev = await txn(kv, [next], [previous]);
      revs.push(lastRev);
      previous = next.key;
    }
    const burstDone = nowMs();
    const [h, n] = await Promise.all([
      pollServed(router.httpPort, HOST, final.id, { timeoutMs: 30_000 }),
      pollServed(router.nginxPort!, HOST, final.id, { timeoutMs: 30_000 }),
    ]);
    await waitApplied(router, lastRev, 30_000);
    // Any reload still pending would come within one more interval.
    await sleep(1_500);
    const after = await reloadsByTarget(router);
    const timeline = nginxReloads(router, firstPutAt).map(
      (r) => `+${r.at.toFixed(0)} ms, changes 1–${revs.filter((rev) => rev <= r.revision).length}${r.waited ? ` (waited ${r.waited} ms)` : ''}`,
    );
    const since = (t: number | undefined, from: number) => (t === undefined ? 'not served in 30 s' : ms(t - from));
    return [
      { id: 'i', name: `${I_CHANGES} endpoint changes (one txn each, sequential): first put → last committed`, value: ms(burstDone - firstPutAt) },
      {
        id: 'i',
        name: 'nginx reloads for the burst (fabric_router_reloads_total{target="nginx"})',
        value: String(after.nginx - before.nginx),
        target: '≈ 1 per second of burst',
      },
      { id: 'i', name: 'HAProxy reloads for the burst', value: String(after.haproxy - before.haproxy), target: '0 (fast path)' },
      { id: 'i', name: 'nginx serves the final state: from the last put / from the first put', value: `${since(n, lastPutAt)} / ${since(n, firstPutAt)}` },
      { id: 'i', name: 'HAProxy serves the final state: from the last put / from the first put', value: `${since(h, lastPutAt)} / ${since(h, firstPutAt)}` },
      { id: 'i', name: 'nginx reloads (router log, from the first put): done at, burst changes included, pacing wait', value: timeline.join('; ') },
    ];
  } finally {
    await cleanup.run();
  }
}

/** The nginx target's reloads from the router's "applied" log lines since `fromMs` (wall clock): when, which revision, pacing wait. */
function nginxReloads(router: RouterProcess, fromMs: number): Array<{ at: number; revision: number; waited?: number }> {
  const out: Array<{ at: number; revision: number; waited?: number }> = [];
  for (const line of router.proc.lines()) {
    if (!line.includes('"msg":"applied"')) continue;
    try {
      const entry = JSON.parse(line) as { time?: string; target?: string; action?: string; revision?: number; detail?: string };
      const time = Date.parse(entry.time ?? '');
      if (entry.target !== 'nginx' || entry.action !== 'reload' || !(time >= fromMs)) continue;
      const waited = /waited (\d+) ms/.exec(entry.detail ?? '')?.[1];
      out.push({ at: time - fromMs, revision: entry.revision ?? NaN, waited: waited === undefined ? undefined : Number(waited) });
    } catch {
      // not JSON
    }
  }
  return out;
}
