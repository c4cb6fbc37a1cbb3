// Benchmark runner: `node dist/bench/run.js agent|router|all [--only a,d] [--json FILE]`.
// Measures and prints; it never fails on a threshold (the targets are printed for reference).
import fs from 'node:fs';
import os from 'node:os';
import { benchAcmeIssuance } from './acme.js';
import { benchColdStartAndResync, benchStartToEtcd } from './agent.js';
import { benchAgentAtScale } from './agent-scale.js';
import { benchDashboard } from './dashboard.js';
import { benchDockerToServed } from './e2e.js';
import { benchFailover } from './failover.js';
import { benchFastPathSteps } from './fast-path.js';
import { benchHealthAtTenThousand, benchHealthCost, benchHealthDetection } from './health.js';
import { closeBenchDocker } from './lib/docker.js';
import { type Figure, machine, printFigures, printMachine } from './lib/report.js';
import { benchNginxDynamic } from './nginx-dynamic.js';
import { benchAtScale, benchPutToServed } from './router.js';
import { benchSizes } from './scale.js';
import { benchSpares } from './spares.js';
import { benchStatParse } from './stat-parse.js';
import { benchNginxBurst, benchNginxVsHaproxy } from './targets.js';
import { benchTemplates } from './templates.js';
import { benchCertLatencyAndHandshakes, benchCertsAtScale } from './tls.js';
import { benchTrafficSampling } from './traffic.js';

interface Bench {
  /** The figures' ids it produces. */
  ids: string[];
  group: 'agent' | 'router';
  title: string;
  run: () => Promise<Figure[]>;
}

const BENCHES: Bench[] = [
  { ids: ['a'], group: 'agent', title: 'a) Docker start event → key in etcd', run: benchStartToEtcd },
  { ids: ['b', 'c'], group: 'agent', title: 'b) agent cold start on 200 containers; c) no-change resyncs', run: benchColdStartAndResync },
  { ids: ['y'], group: 'agent', title: 'y) agent at scale: cold start on 200 and 1,000 containers; 100 started at once', run: benchAgentAtScale },
  { ids: ['d', 'g'], group: 'router', title: 'd) etcd put → served; g) fast path vs forced reload', run: benchPutToServed },
  { ids: ['z'], group: 'router', title: 'z) the small fast path, step by step: put → served on a one-service keyspace', run: benchFastPathSteps },
  { ids: ['f'], group: 'router', title: 'f) 1,000 services × 10 endpoints', run: benchAtScale },
  {
    ids: ['x'],
    group: 'router',
    title: 'x) the router at sizes (FABRIC_BENCH_SIZES, default one service, 1k, 10k, 100k endpoints), ratios to one service',
    run: benchSizes,
  },
  { ids: ['e'], group: 'router', title: 'e) Docker start → served (agent + router)', run: benchDockerToServed },
  { ids: ['h'], group: 'router', title: 'h) put → served: nginx (reload) vs HAProxy (runtime API), one router', run: benchNginxVsHaproxy },
  { ids: ['i'], group: 'router', title: 'i) nginx burst folding: 200 changes, minReloadInterval 1 s', run: benchNginxBurst },
  {
    ids: ['ng'],
    group: 'router',
    title: 'ng) nginx without reloads: put → served next to HAProxy, 1,000 changes, 10,000 endpoints, the Lua balancer’s CPU per request',
    run: benchNginxDynamic,
  },
  { ids: ['j'], group: 'router', title: 'j) health path fails → out of HAProxy rotation', run: benchHealthDetection },
  { ids: ['k'], group: 'router', title: 'k) health checks: router CPU and RSS at 1,000 endpoints', run: benchHealthCost },
  { ids: ['v'], group: 'router', title: "v) health checks at 10,000 endpoints: HAProxy-run vs the router's own", run: benchHealthAtTenThousand },
  { ids: ['p'], group: 'router', title: 'p) etcd leader SIGKILL + a change meanwhile → served by both routers', run: benchFailover },
  { ids: ['t', 'u'], group: 'router', title: 't, u) a 1,000-server HAProxy config: Go text/template vs Handlebars', run: benchTemplates },
  {
    ids: ['l', 'n'],
    group: 'router',
    title: 'l) certificate put → presented by SNI (HAProxy, no reload); n) TLS handshakes/s, full and resumed',
    run: benchCertLatencyAndHandshakes,
  },
  { ids: ['m'], group: 'router', title: 'm) 1,000 certificates: cold start, memory, one more at that size', run: benchCertsAtScale },
  { ids: ['q'], group: 'router', title: 'q) ACME issuance against pebble, two routers', run: benchAcmeIssuance },
  { ids: ['r'], group: 'router', title: 'r) dashboard at 1,000 services: load time in Chromium, SSE bytes/s', run: benchDashboard },
  {
    ids: ['o'],
    group: 'router',
    title: 'o) traffic sampling: router CPU and RSS over a minute, on vs off, at 1,000 and 10,000 endpoints; the rings’ memory',
    run: benchTrafficSampling,
  },
  { ids: ['s'], group: 'router', title: 's) one show stat answer for the check read-back and traffic: split once vs per reader', run: benchStatParse },
  { ids: ['w'], group: 'router', title: 'w) new and removed services: spare backends vs a reload each (spares: 0)', run: benchSpares },
];

function usage(): never {
  console.error('usage: node dist/bench/run.js agent|router|all [--only a,b,...] [--json FILE]');
  process.exit(2);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const which = args[0] ?? 'all';
  if (!['agent', 'router', 'all'].includes(which)) usage();
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i < 0 ? undefined : (args[i + 1] ?? usage());
  };
  const only = flag('--only')?.split(',');
  const jsonFile = flag('--json');
  const selected = BENCHES.filter((b) => (which === 'all' || b.group === which) && (!only || b.ids.some((id) => only.includes(id))));

  const m = printMachine(machine());
  const results: Array<{ title: string; seconds: number; figures: Figure[]; error?: string }> = [];
  try {
    for (const bench of selected) {
      console.log(`\n== ${bench.title}`);
      const started = Date.now();
      try {
        const figures = await bench.run();
        const seconds = (Date.now() - started) / 1000;
        results.push({ title: bench.title, seconds, figures });
        printFigures(`${bench.title} (${seconds.toFixed(0)} s)`, figures);
      } catch (error) {
        // A broken benchmark is reported and the others still run; the exit code says so.
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        results.push({ title: bench.title, seconds: (Date.now() - started) / 1000, figures: [], error: message });
        console.error(`\n!! ${bench.title} failed: ${message}`);
        process.exitCode = 1;
      }
    }
  } finally {
    await closeBenchDocker();
  }
  m.loadavg = `${m.loadavg} at start; ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} at end`;
  printMachine(m);
  printFigures(
    `All figures (node dist/bench/run.js ${args.join(' ')})`,
    results.flatMap((r) => r.figures),
  );
  for (const r of results) if (r.error) console.log(`\n!! ${r.title}: ${r.error.split('\n')[0]}`);
  if (jsonFile) fs.writeFileSync(jsonFile, `${JSON.stringify({ machine: m, command: `node dist/bench/run.js ${args.join(' ')}`, results }, null, 2)}\n`);
}

// Ctrl-C or SIGTERM: exit through 'exit', where the harness stops what it started by pid.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

main().then(
  () => process.exit(),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
