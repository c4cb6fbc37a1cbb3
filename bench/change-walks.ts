// Pure, in-process: what one endpoint change costs the router's main thread at 10,000 services ×
// 10 endpoints, stage by stage (no etcd, no HAProxy). Each change replaces one endpoint of one
// service (a delete and a put, as bench x does), then runs what lb/router.ts applyAll runs:
// store apply → deriveModel → health sync → desiredHaproxy (as lb/haproxy/target.ts plans, with
// the default 128 spares and with none) → diffHaproxy → policyLimitations. The same at 1 service
// gives the ratio. Run: `npm run build && node dist/bench/change-walks.js`.
import os from 'node:os';
import { DesiredMemo, desiredHaproxy, type HaproxyDesired, type SlotTable } from '../lb/haproxy/desired.js';
import { diffHaproxy } from '../lb/haproxy/diff.js';
import type { BackendPool, PoolSettings } from '../lb/haproxy/spares.js';
import { backendCheck } from '../lb/health/backend-check.js';
import { HaproxyChecks } from '../lb/health/haproxy-checks.js';
import { DEFAULT_CHECK } from '../lb/health/spec.js';
import { deriveModel, type Model, ModelMemo } from '../lb/model.js';
import { policyLimitations, routePolicyLimitations } from '../lb/policy/limitations.js';
import { type KeyChange, KeyStore } from '../lb/store.js';
import { createLogger } from '../src/log.js';
import type { Endpoint } from '../src/model/endpoint.js';
import { summarize } from './lib/report.js';

const PER_SERVICE = 10;
const ms = (value: number) => `${value.toFixed(2)}`;
const WARMUP = 10;
const CHANGES = 50;
const STAGES = ['store', 'model', 'health', 'desired', 'diff', 'policy'] as const;
type Stage = (typeof STAGES)[number];

function endpoint(service: string, index: number, generation: number): Endpoint {
  return {
    service,
    host: `h${index % 50}`,
    container: `${service}-c${index}-g${generation}`,
    name: `${service}-${index}`,
    address: `10.${(index >> 8) & 255}.${index & 255}.${generation & 255}`,
    port: 8000,
    weight: 100,
    mode: 'http',
    domains: [],
    health: 'none',
    state: 'up',
  };
}

const keyOf = (e: Endpoint) => `endpoints/${e.service}/${e.host}/${e.container}`;
const put = (e: Endpoint, revision: number): KeyChange => ({ type: 'put', key: keyOf(e), value: JSON.stringify(e), createRevision: revision });
const del = (e: Endpoint): KeyChange => ({ type: 'delete', key: keyOf(e), value: '', createRevision: 0 });

/** One router's worth of state, as lb/router.ts and the HAProxy target keep it between applies. */
class Pipeline {
  readonly store = new KeyStore();
  private readonly memo = new ModelMemo();
  private readonly desiredMemo = new DesiredMemo();
  private readonly health = new HaproxyChecks({
    defaults: DEFAULT_CHECK,
    haproxy: { adminSocket: '/nonexistent', appliedDesired: () => undefined },
    logger: createLogger('silent', 'bench'),
  });
  private slots: SlotTable = new Map();
  private pool: BackendPool | undefined;
  private applied: HaproxyDesired | undefined;
  private readonly settings: PoolSettings;

  constructor(spares: number) {
    const defaultCheck = backendCheck({ endpoints: [], spec: undefined, mode: 'http' }, DEFAULT_CHECK);
    this.settings = defaultCheck ? { spares, defaultCheck } : { spares };
  }

  /** One apply: each stage's time in ms. */
  apply(changes: KeyChange[], revision: number): Record<Stage, number> {
    const times = {} as Record<Stage, number>;
    let t = performance.now();
    const lap = (stage: Stage) => {
      const now = performance.now();
      times[stage] = now - t;
      t = now;
    };
    this.store.apply(changes, revision);
    lap('store');
    const health = this.health;
    const options = { domain: 'apps.test', health: (e: Endpoint) => health.verdict(e), healthVersion: health.version };
    const model: Model = deriveModel(this.store.grouped(), this.store.revision, options, this.memo);
    lap('model');
    health.sync(model);
    lap('health');
    let planned = this.plan(model, false);
    lap('desired');
    const change = diffHaproxy(this.applied, planned.desired);
    lap('diff');
    policyLimitations('haproxy', model.services, model.weightedRoutes);
    routePolicyLimitations(model.weightedRoutes, model.services);
    lap('policy');
    // A reload lays the pool out afresh (the target plans again): not a per-change cost, kept out of the figures.
    if (change.kind === 'reload' && !planned.pool.compacted) planned = this.plan(model, true);
    this.applied = planned.desired;
    this.slots = planned.slots;
    this.pool = planned.pool.pool;
    return times;
  }

  private plan(model: Model, compact: boolean) {
    const planned = desiredHaproxy(model, this.slots, this.desiredMemo, { previous: this.pool, settings: this.settings, compact }, DEFAULT_CHECK);
    return { ...planned, pool: planned.pool! };
  }

  async stop(): Promise<void> {
    await this.health.stop();
  }
}

async function run(services: number, spares: number): Promise<Record<Stage, number[]>> {
  const pipeline = new Pipeline(spares);
  const current: Endpoint[][] = [];
  const initial: KeyChange[] = [];
  for (let s = 0; s < services; s++) {
    const name = `svc${s}`;
    current.push(Array.from({ length: PER_SERVICE }, (_, i) => endpoint(name, i, 0)));
    for (const e of current[s]!) initial.push(put(e, 1));
  }
  pipeline.store.reset(initial, 1);
  let revision = 1;
  pipeline.apply([], revision);
  const samples = Object.fromEntries(STAGES.map((s) => [s, [] as number[]])) as Record<Stage, number[]>;
  for (let i = 0; i < WARMUP + CHANGES; i++) {
    revision += 1;
    const s = (i * 7919) % services;
    const slot = i % PER_SERVICE;
    const before = current[s]![slot]!;
    const after = endpoint(before.service, slot, revision);
    current[s]![slot] = after;
    const times = pipeline.apply([del(before), put(after, revision)], revision);
    if (i >= WARMUP) for (const stage of STAGES) samples[stage].push(times[stage]);
  }
  await pipeline.stop();
  return samples;
}

function report(label: string, samples: Record<Stage, number[]>): void {
  const total = samples.store.map((_, i) => STAGES.reduce((sum, stage) => sum + samples[stage][i]!, 0));
  const rows = [...STAGES.map((stage) => [stage, summarize(samples[stage])] as const), ['total', summarize(total)] as const];
  console.log(`\n${label}`);
  console.log(`${'stage'.padEnd(8)} ${'p50'.padStart(9)} ${'p99'.padStart(9)} ${'max'.padStart(9)}`);
  for (const [stage, s] of rows) console.log(`${stage.padEnd(8)} ${ms(s.p50).padStart(9)} ${ms(s.p99).padStart(9)} ${ms(s.max).padStart(9)}`);
}

async function main(): Promise<void> {
  console.log(`change-walks: ${os.cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}; ${CHANGES} changes after ${WARMUP} warm-up, ms per change`);
  for (const spares of [128, 0]) {
    for (const services of [10_000, 1]) {
      report(`${services} services × ${PER_SERVICE} endpoints, spares ${spares}`, await run(services, spares));
    }
  }
}

await main();
