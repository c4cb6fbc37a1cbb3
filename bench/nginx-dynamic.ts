// ng) nginx without reloads (lb/nginx/dynamic): endpoint changes through the Lua module's shared
// dict, next to HAProxy's Runtime API on one router; the endpoints are node HTTP servers on 127.0.0.1.
//  - put → served through HAProxy and through nginx (dynamic), same samples, and their ratio
//  - 1,000 endpoint changes back to back → nginx reloads (0 expected) and time to the final state
//  - the same put → served with 10,000 more endpoints in the keyspace, and its reloads
//  - requests/s through the Lua balancer against plain upstreams (a second router, dynamic: false)
import http from 'node:http';
import type { Namespace } from 'etcd3';
import { startEtcd } from '../test/harness/etcd.js';
import { DOMAIN, endpoint, etcdClient, pollServed, type RouterProcess, scrape, startRouter, total, txn, waitApplied } from './lib/fabric.js';
import { type Figure, latencyFigures, ms, nowMs, sleep, summarize } from './lib/report.js';
import { Cleanup, type IdServer, startIdServers } from './lib/util.js';

const SAMPLES = 20;
const GAP_MS = 100;
const CHANGES = 1_000;
const BULK = 10_000;
const LOAD_REQUESTS = 4_000;
const LOAD_CONCURRENCY = 16;
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

/** A bounded load loop: `LOAD_REQUESTS` GETs over `LOAD_CONCURRENCY` kept-alive connections; requests/s and failures. */
async function load(port: number): Promise<{ rps: number; failures: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: LOAD_CONCURRENCY });
  let next = 0;
  let failures = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { host: HOST }, agent }, (res) => {
        if (res.statusCode !== 200) failures += 1;
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', () => {
        failures += 1;
        resolve();
      });
    });
  const started = nowMs();
  await Promise.all(
    Array.from({ length: LOAD_CONCURRENCY }, async () => {
      while (next++ < LOAD_REQUESTS) await one();
    }),
  );
  const elapsed = nowMs() - started;
  agent.destroy();
  return { rps: (LOAD_REQUESTS / elapsed) * 1_000, failures };
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

    // The probe service exists (its upstream: one reload), then everything below is peers only.
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

    // 10,000 more endpoints (another service: one reload for its upstream), then the same samples.
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

    // Throughput: the same probe (4 servers) through this nginx and through one with plain upstreams.
    for (let i = 1; i < 4; i++) lastRev = await txn(kv, [endpoint({ service: 'probe', port: pool.servers[i]!.port })]);
    await waitApplied(router, lastRev, 30_000);
    const plain = await startRouter({ etcd: etcd.endpoint, name: 'bench-router-ng-plain', nginx: { dynamic: false } });
    cleanup.defer('plain router', () => plain.stop());
    await waitApplied(plain, lastRev, 60_000);
    await load(router.nginxPort!); // warm-up
    await load(plain.nginxPort!);
    const lua = await load(router.nginxPort!);
    const upstreams = await load(plain.nginxPort!);

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
        target: '1 (the new service)',
      },
      ...latencyFigures('ng', `at ${BULK.toLocaleString('en')} endpoints: put → served through HAProxy`, large.viaHaproxy, {}, large.failures),
      ...latencyFigures('ng', `at ${BULK.toLocaleString('en')} endpoints: put → served through nginx`, large.viaNginx, {}, large.failures),
      {
        id: 'ng',
        name: `at ${BULK.toLocaleString('en')} endpoints: nginx ÷ HAProxy p50; nginx reloads`,
        value: `${(ln.p50 / lh.p50).toFixed(2)}×; ${reloads4 - reloads3}`,
        target: '0 reloads',
      },
      {
        id: 'ng',
        name: `requests/s through nginx, ${LOAD_REQUESTS.toLocaleString('en')} GETs × ${LOAD_CONCURRENCY} keep-alive connections: Lua balancer / plain upstreams`,
        value: `${lua.rps.toFixed(0)} / ${upstreams.rps.toFixed(0)} (${((lua.rps / upstreams.rps) * 100).toFixed(0)} %); failures ${lua.failures} / ${upstreams.failures}`,
      },
    ];
  } finally {
    await cleanup.run();
  }
}
