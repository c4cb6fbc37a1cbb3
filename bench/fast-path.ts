// The small fast path, step by step (issue 12, item 5):
//  z) on a one-service keyspace, an endpoint replaced in one etcd transaction → served by HAProxy,
//     split into the router's own steps (its "applied" log line carries `changeSeenAt` and `steps`,
//     lb/trace) plus the two ends only the benchmark sees: put → the router's watch has it, and the
//     apply's end → the first request served by the new endpoint.
import type { Namespace } from 'etcd3';
import { startEtcd } from '../test/harness/etcd.js';
import { DOMAIN, endpoint, etcdClient, pollServed, type RouterProcess, startRouter, txn, waitApplied } from './lib/fabric.js';
import { type Figure, latencyFigures, ms, nowMs, sleep, summarize } from './lib/report.js';
import { Cleanup, type IdServer, startIdServers } from './lib/util.js';

const Z_SAMPLES = 60;
/** Above the debounce minimum (20 ms): each change starts from idle, as bench d's do. */
const GAP_MS = 50;
const HOST = `probe.${DOMAIN}`;

interface AppliedLine {
  revision: number;
  action: string;
  changeSeenAt: number;
  steps: Record<string, number>;
}

function appliedLines(router: RouterProcess): Map<number, AppliedLine> {
  const out = new Map<number, AppliedLine>();
  for (const line of router.proc.lines()) {
    if (!line.includes('"msg":"applied"')) continue;
    try {
      const entry = JSON.parse(line) as Partial<AppliedLine>;
      if (entry.revision !== undefined && entry.steps && entry.changeSeenAt !== undefined) out.set(entry.revision, entry as AppliedLine);
    } catch {
      // not JSON
    }
  }
  return out;
}

interface Sample {
  rev: number;
  putAt: number;
  servedAt: number;
}

async function replace(kv: Namespace, router: RouterProcess, previous: string | undefined, server: IdServer) {
  const next = endpoint({ service: 'probe', port: server.port });
  const putAt = nowMs();
  const rev = await txn(kv, [next], previous ? [previous] : []);
  const servedAt = await pollServed(router.httpPort, HOST, server.id, { timeoutMs: 10_000 });
  return { key: next.key, rev, putAt, servedAt };
}

export async function benchFastPathSteps(): Promise<Figure[]> {
  const cleanup = new Cleanup();
  try {
    const etcd = await startEtcd({ name: 'bench-etcd-z' });
    cleanup.defer('etcd', () => etcd.stop());
    const { client, kv } = etcdClient(etcd.endpoint);
    cleanup.defer('etcd client', () => client.close());
    const pool = await startIdServers(8, 'z');
    cleanup.defer('id servers', () => pool.close());
    const router = await startRouter({ etcd: etcd.endpoint, name: 'bench-router-z' });
    cleanup.defer('router', () => router.stop());
    const server = (i: number) => pool.servers[i % pool.servers.length]!;

    // The first endpoint creates the backend (a reload): not counted.
    const warmup = await replace(kv, router, undefined, server(0));
    let previous = warmup.key;
    let lastRev = warmup.rev;
    const samples: Sample[] = [];
    let failures = 0;
    for (let i = 1; i <= Z_SAMPLES; i++) {
      await waitApplied(router, lastRev, 15_000);
      await sleep(GAP_MS);
      const result = await replace(kv, router, previous, server(i));
      previous = result.key;
      lastRev = result.rev;
      if (result.servedAt === undefined) failures += 1;
      else samples.push({ rev: result.rev, putAt: result.putAt, servedAt: result.servedAt });
    }
    await waitApplied(router, lastRev, 15_000);
    return stepFigures(samples, appliedLines(router), failures);
  } finally {
    await cleanup.run();
  }
}

function stepFigures(samples: Sample[], lines: Map<number, AppliedLine>, failures: number): Figure[] {
  const perStep = new Map<string, number[]>();
  const add = (step: string, value: number) => perStep.set(step, [...(perStep.get(step) ?? []), value]);
  const total: number[] = [];
  let unmatched = 0;
  for (const s of samples) {
    const line = lines.get(s.rev);
    if (line?.action !== 'runtime') {
      unmatched += 1;
      continue;
    }
    total.push(s.servedAt - s.putAt);
    add('put → router has the watch event', line.changeSeenAt - s.putAt);
    let end = line.changeSeenAt;
    for (const [step, value] of Object.entries(line.steps)) {
      add(`router: ${step}`, value);
      end += value;
    }
    add('apply end → first request served (HAProxy + the poll)', s.servedAt - end);
  }
  const figures: Figure[] = latencyFigures(
    'z',
    `put → served (${Z_SAMPLES} samples, one-service keyspace)`,
    total,
    { p50: '≤ 5 ms', p99: '≤ 20 ms' },
    failures,
  );
  for (const [step, values] of perStep) {
    const s = summarize(values);
    figures.push({ id: 'z', name: `  ${step}: p50 / p99`, value: `${ms(s.p50)} / ${ms(s.p99)}` });
  }
  if (unmatched) figures.push({ id: 'z', name: 'samples with no runtime "applied" line (left out)', value: String(unmatched) });
  return figures;
}
