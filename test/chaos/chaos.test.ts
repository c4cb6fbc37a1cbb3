// A seeded chaos run: three etcd members, two Docker hosts with agents, two routers, request loops
// on every router for every service; faults picked at random (one at a time) while containers
// are deployed and removed. Checked all the time: no failed request beyond what a fault is allowed
// to cost (a frozen host: the request in flight and one more; a host killed: a response its
// container had started to send, cut — no proxy can retry that one), every router converging to what
// the Docker engines run within a bound after each fault heals, one HAProxy master per router.
//
//   npm run chaos -- --seed 42 --minutes 30     (FABRIC_CHAOS_SEED, FABRIC_CHAOS_MINUTES)
//
// On failure it prints the seed and the timeline of faults: the same seed picks the same faults.
import { expect, it } from 'vitest';
import { DOMAIN, type Failure, startCluster, type TestCluster, Traffic } from '../cluster/support.js';
import { liveProcesses } from '../harness/index.js';
import { seededRng } from '../harness/rng.js';
import { haproxyMasters, Resources } from '../router/support.js';
import { type Allowance, FAULTS } from './faults.js';
import { SERVICES, Workload } from './workload.js';

const seed = Number(process.env.FABRIC_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const minutes = Number(process.env.FABRIC_CHAOS_MINUTES ?? 2.5);
/** After a fault heals, every router serves what the engines run within this long. */
const CONVERGE_MS = 20_000;
/** Request loops per router and service (Traffic: one on fresh connections, one kept alive). */
const LOOPS_PER_ROUTER = 2;

it(`chaos: seed ${seed}, ${minutes} min`, { timeout: (minutes * 60 + 300) * 1_000 }, async () => {
  const rng = seededRng(seed);
  const t0 = Date.now();
  const timeline: string[] = [];
  const note = (what: string) => timeline.push(`+${((Date.now() - t0) / 1_000).toFixed(1)} s  ${new Date().toISOString().slice(11, 23)}  ${what}`);
  const allowances: Allowance[] = [];
  const convergence: number[] = [];
  const res = new Resources();
  console.log(`chaos run: seed ${seed}, ${minutes} min (replay: npm run chaos -- --seed ${seed} --minutes ${minutes})`);
  let traffic: Traffic[] = [];
  try {
    const cluster = await startCluster(res, { agentArgs: ['--keep-lease'] });
    const workload = new Workload(cluster);
    await workload.deploy();
    note(`deployed ${SERVICES.join(', ')} on every host`);
    await converge(cluster, workload);
    traffic = SERVICES.map((s) => new Traffic(() => cluster.routers, `${s}.${DOMAIN}`, { maxRequests: 10_000_000, maxMs: (minutes * 60 + 240) * 1_000 }));
    const ctx = { cluster, rng, note, allow: (a: Allowance) => allowances.push(a), lost: (host: number) => workload.replaceLost(host) };
    let faults = 0;
    while (Date.now() - t0 < minutes * 60_000) {
      if (rng.next() < 0.35) await workload.change(rng, note);
      else {
        const fault = rng.pick(FAULTS);
        note(`fault: ${fault.name}`);
        await fault.run(ctx);
        faults += 1;
      }
      const ms = await converge(cluster, workload);
      convergence.push(ms);
      note(`converged in ${ms} ms`);
    }
    const reports = await Promise.all(traffic.map((t) => t.stop()));
    const failures = reports.flatMap((r) => r.failures);
    const unexplained = beyondAllowances(failures, allowances);
    const total = reports.reduce((n, r) => n + r.total, 0);
    const worst = Math.max(...convergence);
    console.log(
      `chaos seed ${seed}: ${faults} faults, ${total} requests, ${failures.length} failed (${unexplained.length} beyond what a fault may cost), worst convergence ${worst} ms`,
    );
    expect(
      unexplained.map((f) => `+${((f.at - t0) / 1_000).toFixed(1)} s router${f.router}: ${f.error}`),
      report(seed, timeline),
    ).toEqual([]);
  } catch (error) {
    console.error(report(seed, timeline));
    throw error;
  } finally {
    await Promise.all(traffic.map((t) => t.stop()));
    await res.release();
  }
  // Nothing the run started outlives it.
  expect(liveProcesses().map((p) => `${p.name} (pid ${p.pid})`)).toEqual([]);
});

/**
 * Every router serves every service from exactly the containers the engines run, and runs one
 * HAProxy master (none left behind by a restart, none started twice). Returns how long it took.
 */
async function converge(cluster: TestCluster, workload: Workload): Promise<number> {
  const started = Date.now();
  for (;;) {
    const expected = await workload.expected();
    try {
      for (const [service, names] of expected) await cluster.waitServedEverywhere(service, names, CONVERGE_MS - (Date.now() - started));
    } catch (error) {
      // Containers may have changed meanwhile (a stop finishing): judge against what runs now.
      const now = await workload.expected();
      if (JSON.stringify([...now]) === JSON.stringify([...expected]) || Date.now() - started >= CONVERGE_MS) throw error;
      continue;
    }
    for (const router of cluster.routers) {
      const masters = haproxyMasters(router.dest);
      if (masters.length !== 1) throw new Error(`${router.proc.name}: ${masters.length} HAProxy masters on ${router.dest}: ${masters.join(' ')}`);
    }
    return Date.now() - started;
  }
}

/** Failures no fault's allowance covers: a frozen host may cost each loop on each router `perLoop` requests in its window. */
function beyondAllowances(failures: Failure[], allowances: Allowance[]): Failure[] {
  const used = new Map<string, number>();
  return failures.filter((f) => {
    const index = allowances.findIndex((a) => f.at >= a.from && f.at <= a.to && (!a.only || a.only.test(f.error)));
    if (index < 0) return true;
    const key = `${index}/${f.router}`;
    const count = (used.get(key) ?? 0) + 1;
    used.set(key, count);
    return count > allowances[index]!.perLoop * LOOPS_PER_ROUTER * SERVICES.length;
  });
}

function report(seed: number, timeline: string[]): string {
  return [`chaos seed ${seed} — replay: npm run chaos -- --seed ${seed}`, 'timeline:', ...timeline.map((l) => `  ${l}`)].join('\n');
}
