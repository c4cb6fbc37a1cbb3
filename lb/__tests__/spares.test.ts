import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DesiredMemo, desiredHaproxy, type HaproxyDesired, type SlotTable } from '../haproxy/desired.js';
import { diffHaproxy, type RuntimeOp } from '../haproxy/diff.js';
import { structureOf } from '../haproxy/loaded.js';
import { type BackendPool, planPool, poolFromRunning } from '../haproxy/spares.js';
import type { ServingState } from '../model.js';
import { endpointEntry, ep, modelOf } from './fixtures.js';

const settings = { spares: 4 };
const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'];

describe('planPool', () => {
  it('a new service takes a free spare; a removed one gives it back; re-added, it finds its own backend', () => {
    const http = (name: string) => ({ name, mode: 'http' as const, balance: 'roundrobin' as const });
    const first = planPool(undefined, [http('a')], settings, false);
    expect(first.compacted).toBe(true);
    expect(first.pool.entries.map((e) => [e.name, e.service])).toEqual([
      ['svc_a', 'a'],
      ['spare_http_roundrobin_1', undefined],
      ['spare_http_roundrobin_2', undefined],
      ['spare_http_roundrobin_3', undefined],
      ['spare_http_roundrobin_4', undefined],
    ]);
    const added = planPool(first.pool, [http('a'), http('b')], settings, false);
    expect(added.compacted).toBe(false);
    expect(added.pool.entries.map((e) => e.service)).toEqual(['a', 'b', undefined, undefined, undefined]);
    const removed = planPool(added.pool, [http('b')], settings, false);
    expect(removed.pool.entries.map((e) => e.service)).toEqual([undefined, 'b', undefined, undefined, undefined]);
    // svc_a is a's alone: c takes a spare, a takes svc_a back.
    const back = planPool(removed.pool, [http('b'), http('c'), http('a')], settings, false);
    expect(back.pool.entries.map((e) => e.service)).toEqual(['a', 'b', 'c', undefined, undefined]);
    expect(planPool(back.pool, [http('b'), http('c'), http('a')], settings, false).pool).toBe(back.pool);
  });

  it('a spare released by a plan goes to another service only in a later plan (connections in flight come back to its slots)', () => {
    const http = (name: string) => ({ name, mode: 'http' as const, balance: 'roundrobin' as const });
    const one = { spares: 1 };
    const first = planPool(undefined, [http('a')], one, false);
    const taken = planPool(first.pool, [http('a'), http('b')], one, false);
    expect(taken.pool.entries.map((e) => e.service)).toEqual(['a', 'b']);
    // b leaves as c comes, with b's spare the only free one: c does not get it (compaction reload instead).
    const swapped = planPool(taken.pool, [http('a'), http('c')], one, false);
    expect(swapped.compacted).toBe(true);
    expect(swapped.pool.entries.find((e) => e.service === 'c')?.name).toBe('svc_c');
    // Released first, taken later: a plain runtime assignment.
    const released = planPool(taken.pool, [http('a')], one, false);
    const later = planPool(released.pool, [http('a'), http('c')], one, false);
    expect(later.compacted).toBe(false);
    expect(later.pool.entries.map((e) => e.service)).toEqual(['a', 'c']);
    // With another spare free, the same swap stays at run time and avoids the released one.
    const two = planPool(planPool(undefined, [http('a')], settings, false).pool, [http('a'), http('b')], settings, false);
    const swap = planPool(two.pool, [http('a'), http('c')], settings, false);
    expect(swap.compacted).toBe(false);
    expect(swap.pool.entries.map((e) => e.service)).toEqual(['a', undefined, 'c', undefined, undefined]);
  });

  it('where HAProxy runs checks, the check is part of the kind: the default check fits the default spares, another check gets spares of its own', () => {
    const defaultCheck = { kind: 'http' as const, path: '/healthz', intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 2, source: 'default' as const };
    const withChecks = { spares: 2, defaultCheck };
    const svc = (name: string, check = defaultCheck) => ({ name, mode: 'http' as const, balance: 'roundrobin' as const, check });
    const first = planPool(undefined, [svc('a')], withChecks, false);
    expect(first.pool.entries.filter((e) => e.service === undefined).every((e) => e.check?.path === '/healthz')).toBe(true);
    // The same check from a spec (another source) is the same kind: no reload.
    const same = planPool(first.pool, [svc('a'), svc('b', { ...defaultCheck, source: 'spec' as never })], withChecks, false);
    expect(same.compacted).toBe(false);
    // Another path cannot be set at run time: this kind's first service compacts, and its spares carry its check.
    const other = { ...defaultCheck, path: '/ready', source: 'label' as never };
    const grown = planPool(same.pool, [svc('a'), svc('b'), svc('c', other)], withChecks, false);
    expect(grown.compacted).toBe(true);
    const spares = grown.pool.entries.filter((e) => e.service === undefined);
    const ready = spares.filter((e) => e.check?.path === '/ready');
    expect(ready.length).toBeGreaterThan(0);
    expect(new Set(spares.map((e) => e.name)).size).toBe(spares.length);
    expect(ready.every((e) => /^spare_http_roundrobin_c[0-9a-f]{8}_\d+$/.test(e.name))).toBe(true);
    // Then the next service with that check takes one of them at run time.
    const next = planPool(grown.pool, [svc('a'), svc('b'), svc('c', other), svc('d', other)], withChecks, false);
    expect(next.compacted).toBe(false);
    expect(next.pool.entries.find((e) => e.service === 'd')?.check?.path).toBe('/ready');
  });

  it('a kind that runs out compacts with twice the reserve; another kind gets its own spares', () => {
    const http = (name: string) => ({ name, mode: 'http' as const, balance: 'roundrobin' as const });
    const names = ['a', 'b', 'c', 'd', 'e'];
    let pool = planPool(undefined, [], settings, false).pool;
    for (let n = 1; n <= 4; n++) expect(planPool(pool, names.slice(0, n).map(http), settings, false).compacted).toBe(false);
    const grown = planPool(pool, names.map(http), settings, false);
    expect(grown.compacted).toBe(true);
    expect(grown.pool.entries.filter((e) => e.service === undefined)).toHaveLength(8);
    pool = grown.pool;
    const tcp = planPool(pool, [...names.map(http), { name: 'db', mode: 'tcp', balance: 'leastconn' }], settings, false);
    expect(tcp.compacted).toBe(true);
    expect(tcp.pool.entries.filter((e) => e.mode === 'tcp' && e.service === undefined).length).toBeGreaterThanOrEqual(8);
  });

  it('property: every service sits in exactly one backend of its kind; `svc_X` only ever serves X; no reload while spares last', () => {
    const service = fc.record({ name: fc.constantFrom(...NAMES), mode: fc.constantFrom('http' as const, 'tcp' as const) });
    const step = fc.uniqueArray(service, { selector: (s) => s.name, maxLength: NAMES.length });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) => {
        let pool: BackendPool | undefined;
        for (const services of steps) {
          const wanted = services.map((s) => ({ ...s, balance: 'roundrobin' as const }));
          const before = pool;
          const plan = planPool(pool, wanted, settings, false);
          pool = plan.pool;
          if (before && !plan.compacted) expect(pool.entries.map((e) => e.name)).toEqual(before.entries.map((e) => e.name));
          for (const s of wanted) {
            const holders = pool.entries.filter((e) => e.service === s.name);
            expect(holders).toHaveLength(1);
            expect(holders[0]!.mode).toBe(s.mode);
          }
          expect(pool.entries.filter((e) => e.service !== undefined)).toHaveLength(wanted.length);
          for (const e of pool.entries) if (e.owner !== undefined && e.service !== undefined) expect(e.service).toBe(e.owner);
          // What loaded.json records gives the same pool back to an adopting router.
          const recorded = pool.entries.map((e) => ({ ...e, service: e.service ?? e.owner ?? '', ...(e.service === undefined ? { free: true } : {}) }));
          expect(poolFromRunning(recorded, settings).entries).toEqual(pool.entries);
        }
      }),
      { numRuns: 300 },
    );
  });
});

/** HAProxy's servers and maps as the Runtime API leaves them: the ops applied one by one. */
interface Simulated {
  servers: Map<string, { address: string; port: number; weight: number; state: ServingState }>;
  hosts: Array<[string, string]>;
}

function loadedFrom(desired: HaproxyDesired): Simulated {
  const servers: Simulated['servers'] = new Map();
  for (const b of desired.backends)
    for (const s of b.servers) servers.set(`${b.name}/${s.name}`, { address: s.address, port: s.port, weight: s.weight, state: s.state });
  return { servers, hosts: desired.hostMap };
}

function applyOps(sim: Simulated, ops: RuntimeOp[]): void {
  for (const op of ops) {
    if (op.kind === 'map') {
      if (op.map === 'hosts') sim.hosts = op.entries;
      continue;
    }
    if (op.kind === 'tls') continue;
    const server = sim.servers.get(`${op.backend}/${op.server}`)!;
    if (op.kind === 'addr') Object.assign(server, { address: op.address, port: op.port });
    if (op.kind === 'weight') server.weight = op.weight;
    if (op.kind === 'state') server.state = op.state;
  }
}

describe('desiredHaproxy with spares', () => {
  /** The endpoints of service number n (in NAMES) listen on ports 9000 + 100n + i. */
  const modelFor = (services: Array<{ name: string; endpoints: number }>) =>
    modelOf(
      services.flatMap((s) =>
        Array.from({ length: s.endpoints }, (_, i) => endpointEntry(ep(s.name, `${s.name}-${i}`, { port: 9000 + NAMES.indexOf(s.name) * 100 + i }))),
      ),
    );

  it('property: runtime ops take HAProxy exactly to the rendered state; a refilled backend carries only its new service', () => {
    const service = fc.record({ name: fc.constantFrom(...NAMES), endpoints: fc.integer({ min: 0, max: 4 }) });
    const step = fc.uniqueArray(service, { selector: (s) => s.name, maxLength: NAMES.length });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 10 }), (steps) => {
        let slots: SlotTable = new Map();
        let pool: BackendPool | undefined;
        let applied: HaproxyDesired | undefined;
        let sim: Simulated | undefined;
        const memo = new DesiredMemo();
        for (const services of steps) {
          const model = modelFor(services);
          let planned = desiredHaproxy(model, slots, memo, { previous: pool, settings, compact: false });
          const change = diffHaproxy(applied, planned.desired);
          const compact = change.kind === 'reload' && !planned.pool!.compacted;
          if (compact) planned = desiredHaproxy(model, slots, memo, { previous: pool, settings, compact: true });
          // The memo never changes a plan.
          expect(planned.desired).toEqual(desiredHaproxy(model, slots, undefined, { previous: pool, settings, compact }).desired);
          if (change.kind === 'reload') sim = loadedFrom(planned.desired);
          else if (change.kind === 'runtime') applyOps(sim!, change.ops);
          if (change.kind !== 'reload')
            expect(structureOf(planned.desired).backends.map((b) => b.name)).toEqual(structureOf(applied!).backends.map((b) => b.name));
          ({ slots } = planned);
          pool = planned.pool!.pool;
          applied = planned.desired;
          // A reload now would load exactly what runs: every filled slot, every free backend's slot, the host map.
          const loaded = loadedFrom(planned.desired);
          for (const b of planned.desired.backends) {
            for (const s of b.servers) {
              const id = `${b.name}/${s.name}`;
              if (s.endpoint || b.free) expect(sim!.servers.get(id)).toEqual(loaded.servers.get(id));
              else expect(sim!.servers.get(id)!.state).toBe('maint');
              // The port tells whose endpoint it is: a backend never serves another service's.
              if (s.endpoint) expect(Math.floor((s.port - 9000) / 100)).toBe(NAMES.indexOf(b.service));
            }
          }
          expect(sim!.hosts).toEqual(planned.desired.hostMap);
          for (const [host, backend] of sim!.hosts) {
            const b = planned.desired.backends.find((x) => x.name === backend)!;
            expect(b.free).toBeUndefined();
            expect(host).toBe(`${b.service}.apps.test`);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
