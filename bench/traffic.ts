// o) Traffic sampling cost (docs/traffic.md): router CPU and RSS over a minute with sampling on
//    (traffic.enabled, one `show info;show stat` per second shared with the health read-back) vs
//    off, at 1,000 and 10,000 endpoints, in one run; and the rings' memory.
import { startEtcd } from '../test/harness/etcd.js';
import { withDescendants } from '../test/harness/proc-scan.js';
import { endpoint, etcdClient, startRouter, txn, waitApplied } from './lib/fabric.js';
import { cpuTimeMs, type Figure, nowMs, sleep } from './lib/report.js';
import { Cleanup } from './lib/util.js';

const SIZES = [1_000, 10_000];
const PER_SERVICE = 10;
const WARMUP_MS = 10_000;
/** FABRIC_BENCH_O_MEASURE_MS: the measured window (default a minute). */
const MEASURE_MS = Number(process.env.FABRIC_BENCH_O_MEASURE_MS ?? 60_000);

interface OResult {
  routerCpu: number;
  haproxyCpu: number;
  rssMiB: number;
  traffic: { samples?: number; ringBytes?: number; endpoints?: number; lastReadMs?: number } | undefined;
}

export async function benchTrafficSampling(): Promise<Figure[]> {
  const cleanup = new Cleanup();
  try {
    const etcd = await startEtcd({ name: 'bench-etcd-o' });
    cleanup.defer('etcd', () => etcd.stop());
    const { client, kv } = etcdClient(etcd.endpoint);
    cleanup.defer('etcd client', () => client.close());
    const figures: Figure[] = [];
    let written = 0;
    let rev = 0;
    for (const size of SIZES) {
      // Grow the keyspace to `size` endpoints (services of 10; no live backends needed: nothing is checked).
      const puts = Array.from({ length: size - written }, (_, j) => {
        const i = written + j;
        return endpoint({
          service: `o${String(Math.floor(i / PER_SERVICE)).padStart(4, '0')}`,
          container: String(i).padStart(32, '0'),
          port: 10_000 + (i % 1_000),
        });
      });
      for (let i = 0; i < puts.length; i += 128) rev = await txn(kv, puts.slice(i, i + 128));
      written = size;
      const off = await measure(etcd.endpoint, rev, false);
      const on = await measure(etcd.endpoint, rev, true);
      const label = size.toLocaleString('en-US');
      figures.push(
        ...[
          ['off', off],
          ['on', on],
        ].map(([name, r]) => {
          const result = r as OResult;
          return {
            id: 'o',
            name: `${label} endpoints, sampling ${name}: router CPU / HAProxy CPU over ${MEASURE_MS / 1000} s / router RSS`,
            value: `${result.routerCpu.toFixed(1)} % / ${result.haproxyCpu.toFixed(1)} % of one core / ${result.rssMiB.toFixed(0)} MiB`,
          };
        }),
        {
          id: 'o',
          name: `${label} endpoints: router CPU above sampling off`,
          value: `${(on.routerCpu - off.routerCpu).toFixed(1)} % of one core`,
          target: '≤ 5 % at 10,000',
        },
        {
          id: 'o',
          name: `${label} endpoints: rings (typed arrays) / RSS above off / samples / last read`,
          value: `${((on.traffic?.ringBytes ?? 0) / 1024 / 1024).toFixed(1)} MiB / ${(on.rssMiB - off.rssMiB).toFixed(0)} MiB / ${on.traffic?.samples ?? 0} / ${on.traffic?.lastReadMs ?? '-'} ms`,
        },
      );
    }
    return figures;
  } finally {
    await cleanup.run();
  }
}

async function measure(etcdEndpoint: string, rev: number, sampling: boolean): Promise<OResult> {
  console.error(`o) sampling ${sampling ? 'on' : 'off'}: starting a router`);
  const router = await startRouter({
    etcd: etcdEndpoint,
    name: `bench-router-o-${sampling ? 'on' : 'off'}`,
    readyTimeoutMs: 120_000,
    extraConfig: `traffic: {enabled: ${sampling}, sampleInterval: 1s}\n`,
  });
  try {
    await waitApplied(router, rev, 120_000);
    await sleep(WARMUP_MS);
    const haproxyPids = withDescendants([router.proc.pid]).filter((pid) => pid !== router.proc.pid);
    const haproxyCpu = () => haproxyPids.reduce((sum, pid) => sum + (cpuTimeMs(pid) ?? 0), 0);
    const cpuBefore = cpuTimeMs(router.proc.pid);
    const haproxyBefore = haproxyCpu();
    const startedAt = nowMs();
    await sleep(MEASURE_MS);
    const cpuAfter = cpuTimeMs(router.proc.pid);
    const wall = nowMs() - startedAt;
    const haproxyAfter = haproxyCpu();
    if (cpuBefore === undefined || cpuAfter === undefined) throw new Error('router exited during the measurement');
    const status = (await router.status().catch(() => ({}))) as { traffic?: OResult['traffic'] };
    return {
      routerCpu: ((cpuAfter - cpuBefore) / wall) * 100,
      haproxyCpu: ((haproxyAfter - haproxyBefore) / wall) * 100,
      rssMiB: router.rss().router ?? Number.NaN,
      traffic: status.traffic,
    };
  } finally {
    await router.stop();
  }
}
