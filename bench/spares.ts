// w) Spare HAProxy backends (lb/haproxy/spares.ts), two routers in one run, each on its own etcd:
//    "spares" (the default, 128 free spares) and "reload" (`spares: 0`: one backend per service,
//    so every new or removed service reloads, as before spares).
//    1. 100 services added one by one, then removed one by one: reloads counted on each router.
//    2. a new service's put → first request served by it, samples interleaved between the routers.
import type { Namespace } from 'etcd3';
import { startEtcd } from '../test/harness/etcd.js';
import { DOMAIN, endpoint, etcdClient, pollServed, type RouterProcess, scrape, startRouter, total, txn, waitApplied } from './lib/fabric.js';
import { type Figure, latencyFigures, ms, nowMs, sleep, summarize } from './lib/report.js';
import { Cleanup, type IdServer, startIdServers } from './lib/util.js';

const CHURN_SERVICES = 100;
const LATENCY_SAMPLES = 30;
/** Quiet time between samples, above the debounce minimum (20 ms). */
const GAP_MS = 50;

interface Side {
  label: 'spares' | 'reload';
  router: RouterProcess;
  kv: Namespace;
}

async function reloads(router: RouterProcess): Promise<number> {
  return total(await scrape(router.apiPort), 'fabric_router_reloads_total');
}

async function startSide(cleanup: Cleanup, label: Side['label'], haproxy: Record<string, number>): Promise<Side> {
  const etcd = await startEtcd({ name: `bench-etcd-w-${label}` });
  cleanup.defer(`etcd ${label}`, () => etcd.stop());
  const { client, kv } = etcdClient(etcd.endpoint);
  cleanup.defer(`etcd client ${label}`, () => client.close());
  const router = await startRouter({ etcd: etcd.endpoint, name: `bench-router-w-${label}`, haproxy });
  cleanup.defer(`router ${label}`, () => router.stop());
  return { label, router, kv };
}

/** Each service its own change (put, applied), then each removed the same way: what a platform creating services all day does. */
async function churn(side: Side, servers: IdServer[]): Promise<{ addReloads: number; removeReloads: number; addMs: number; removeMs: number }> {
  const before = await reloads(side.router);
  const keys: string[] = [];
  const addStart = nowMs();
  for (let i = 0; i < CHURN_SERVICES; i++) {
    const e = endpoint({ service: `churn${i}`, port: servers[i % servers.length]!.port });
    keys.push(e.key);
    await waitApplied(side.router, await txn(side.kv, [e]), 30_000);
  }
  const addMs = nowMs() - addStart;
  const afterAdd = await reloads(side.router);
  const removeStart = nowMs();
  for (const key of keys) await waitApplied(side.router, await txn(side.kv, [], [key]), 30_000);
  const removeMs = nowMs() - removeStart;
  return { addReloads: afterAdd - before, removeReloads: (await reloads(side.router)) - afterAdd, addMs, removeMs };
}

async function newServiceServed(side: Side, service: string, server: IdServer): Promise<number | undefined> {
  const t0 = nowMs();
  const rev = await txn(side.kv, [endpoint({ service, port: server.port })]);
  const served = await pollServed(side.router.httpPort, `${service}.${DOMAIN}`, server.id, { timeoutMs: 15_000 });
  await waitApplied(side.router, rev, 30_000); // settled before the next sample
  return served === undefined ? undefined : served - t0;
}

export async function benchSpares(): Promise<Figure[]> {
  const cleanup = new Cleanup();
  try {
    const pool = await startIdServers(8, 'w');
    cleanup.defer('id servers', () => pool.close());
    const spares = await startSide(cleanup, 'spares', {});
    const reload = await startSide(cleanup, 'reload', { spares: 0 });
    const sides = [spares, reload];
    // A service already served on each, as a platform has.
    for (const side of sides) await waitApplied(side.router, await txn(side.kv, [endpoint({ service: 'base', port: pool.servers[0]!.port })]), 30_000);

    const churned = [];
    for (const side of sides) churned.push(await churn(side, pool.servers));
    const [withSpares, withReload] = churned as [Awaited<ReturnType<typeof churn>>, Awaited<ReturnType<typeof churn>>];

    const latency: Record<Side['label'], number[]> = { spares: [], reload: [] };
    let failures = 0;
    const latencyReloads = await Promise.all(sides.map((s) => reloads(s.router)));
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      for (const side of sides) {
        await sleep(GAP_MS);
        const took = await newServiceServed(side, `new${i}`, pool.servers[i % pool.servers.length]!);
        if (took === undefined) failures += 1;
        else latency[side.label].push(took);
      }
    }
    const latencyReloadCounts = await Promise.all(sides.map(async (s, i) => (await reloads(s.router)) - latencyReloads[i]!));
    const p50 = (label: Side['label']) => summarize(latency[label]).p50;
    const p99 = (label: Side['label']) => summarize(latency[label]).p99;
    return [
      {
        id: 'w',
        name: `${CHURN_SERVICES} services added one by one: reloads, spares / spares: 0`,
        value: `${withSpares.addReloads} / ${withReload.addReloads}`,
        target: '0 with spares',
      },
      {
        id: 'w',
        name: `${CHURN_SERVICES} services removed one by one: reloads, spares / spares: 0`,
        value: `${withSpares.removeReloads} / ${withReload.removeReloads}`,
        target: '0 with spares',
      },
      {
        id: 'w',
        name: 'time to apply the 100 adds / the 100 removes: spares vs spares: 0',
        value: `${ms(withSpares.addMs)} / ${ms(withSpares.removeMs)} vs ${ms(withReload.addMs)} / ${ms(withReload.removeMs)}`,
      },
      ...latencyFigures('w', `new service put → served, spare backend (${LATENCY_SAMPLES} samples)`, latency.spares),
      ...latencyFigures('w', `new service put → served, reload (spares: 0, ${LATENCY_SAMPLES} samples, interleaved)`, latency.reload, {}, failures),
      { id: 'w', name: 'reload p50 / spare p50 (same run)', value: `${(p50('reload') / p50('spares')).toFixed(1)}×` },
      { id: 'w', name: 'reload p99 / spare p99 (same run)', value: `${(p99('reload') / p99('spares')).toFixed(1)}×` },
      { id: 'w', name: 'reloads during the latency samples: spares / spares: 0', value: `${latencyReloadCounts[0]} / ${latencyReloadCounts[1]}` },
    ];
  } finally {
    await cleanup.run();
  }
}
