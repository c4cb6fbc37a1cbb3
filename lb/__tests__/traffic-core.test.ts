// lb/traffic's pure core: show stat → deltas per slot (resets, reused slots, adoption) → rings and views.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { counterDelta, zeroCounters } from '../traffic/counters.js';
import { slotOwner, slotOwners } from '../traffic/owners.js';
import { POINT_MS, POINTS, PointSeries, Ring } from '../traffic/ring.js';
import { parseShowInfo, trafficRows } from '../traffic/stat.js';
import { TrafficStore } from '../traffic/store.js';
import { serviceTraffic, trafficSummary } from '../traffic/view.js';
import { desiredOf, StatFixture, type StatLine, statAnswer } from './traffic-fixtures.js';

const T0 = 1_796_000_000_000;

function feed(store: TrafficStore, fixture: StatFixture, desired: ReturnType<typeof desiredOf>, lines: StatLine[], at: number, info = { pid: 100, uptime: 1 }) {
  const text = statAnswer(lines, info);
  fixture.feed(store, text, desired, at);
}

describe('show stat for traffic', () => {
  it('reads backends and servers after show info, skipping frontends', () => {
    const text = statAnswer([
      { backend: 'fabric_http', server: 'FRONTEND', req: 9 },
      { backend: 'svc_web', server: 's1', req: 5, c2xx: 4, c5xx: 1, scur: 2, rtime: 12, econ: 1 },
      { backend: 'svc_web', server: 'BACKEND', req: 5, qcur: 3 },
    ]);
    const rows = trafficRows(text)!;
    expect(rows.map((r) => `${r.backend}/${r.server}`)).toEqual(['svc_web/s1', 'svc_web/BACKEND']);
    expect(rows[0]!.counters).toMatchObject({ requests: 5, '2xx': 4, '5xx': 1, connectionErrors: 1 });
    expect(rows[0]!.responseTimeMs).toBe(12);
    expect(rows[1]!.queue).toBe(3);
    expect(parseShowInfo(text)).toEqual({ pid: 100, uptimeS: 1 });
    expect(trafficRows('Unknown command\n')).toBeUndefined();
  });

  it('maps service, spare and route slots back to (service, endpoint, version)', () => {
    const desired = desiredOf({ web: ['h1/c1'] }, [
      {
        name: 'spare_http_roundrobin_1',
        service: 'api',
        mode: 'http',
        balance: 'roundrobin',
        spare: true,
        servers: [{ name: 's1', endpoint: 'h2/c2', address: '127.0.0.1', port: 1, weight: 1, state: 'ready' }],
      },
      { name: 'spare_http_roundrobin_2', service: '', mode: 'http', balance: 'roundrobin', spare: true, free: true, servers: [] },
      {
        name: 'route_canary',
        service: 'web',
        mode: 'http',
        balance: 'roundrobin',
        route: 'canary',
        servers: [{ name: 's1', endpoint: 'web/h1/c1', address: '127.0.0.1', port: 1, weight: 90, state: 'ready' }],
      },
    ]);
    const routes = [
      { name: 'canary', groups: [{ service: 'web', version: 'v1', weight: 90, share: 1, servers: [{ key: 'web/h1/c1', endpoint: {} as never, weight: 90 }] }] },
    ];
    const owners = slotOwners(desired, routes as never);
    expect(slotOwner(owners, 'svc_web', 's1')).toEqual({ service: 'web', endpoint: 'h1/c1' });
    expect(slotOwner(owners, 'spare_http_roundrobin_1', 's1')).toEqual({ service: 'api', endpoint: 'h2/c2' });
    expect(slotOwner(owners, 'route_canary', 's1')).toEqual({ service: 'web', endpoint: 'h1/c1', route: 'canary', version: 'v1' });
    expect(owners.backends.has('spare_http_roundrobin_2')).toBe(false);
  });
});

describe('counters into deltas', () => {
  it('counts a process the router saw start from zero, baselines an adopted one', () => {
    const desired = desiredOf({ web: ['h1/c1'] });
    const ours = new TrafficStore();
    feed(ours, new StatFixture(T0), desired, [{ backend: 'svc_web', server: 's1', req: 10 }], T0 + 2_000, { pid: 1, uptime: 2 });
    expect(ours.services.get('web')!.total.requests).toBe(10);
    const adopted = new TrafficStore();
    feed(adopted, new StatFixture(T0), desired, [{ backend: 'svc_web', server: 's1', req: 10 }], T0 + 2_000, { pid: 1, uptime: 3_600 });
    expect(adopted.services.get('web')!.total.requests).toBe(0);
  });

  it('carries totals over a reload (new pid: fresh counters) with nothing negative', () => {
    const desired = desiredOf({ web: ['h1/c1'] });
    const store = new TrafficStore();
    const b = new StatFixture(T0);
    feed(store, b, desired, [{ backend: 'svc_web', server: 's1', req: 100, c5xx: 10 }], T0 + 1_000, { pid: 1, uptime: 1 });
    feed(store, b, desired, [{ backend: 'svc_web', server: 's1', req: 150, c5xx: 10 }], T0 + 2_000, { pid: 1, uptime: 2 });
    feed(store, b, desired, [{ backend: 'svc_web', server: 's1', req: 7, c5xx: 1 }], T0 + 3_000, { pid: 2, uptime: 0 });
    const s = store.services.get('web')!;
    expect(s.total.requests).toBe(157);
    expect(s.total['5xx']).toBe(11);
    expect(store.resets).toBe(1);
  });

  it('counts a slot first filled at run time in a known process from zero', () => {
    const store = new TrafficStore();
    const b = new StatFixture(T0);
    feed(store, b, desiredOf({ web: ['h1/c1'] }), [{ backend: 'svc_web', server: 's1', req: 1 }], T0 + 1_000);
    feed(
      store,
      b,
      desiredOf({ web: ['h1/c1', 'h1/c2'] }),
      [
        { backend: 'svc_web', server: 's1', req: 1 },
        { backend: 'svc_web', server: 's2', req: 4 },
      ],
      T0 + 2_000,
    );
    expect(store.endpoints.get('web/h1/c2')!.total.requests).toBe(4);
  });

  it('property: deltas are never negative and totals never go down, whatever the counters do', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ req: fc.nat(1_000_000), c5xx: fc.nat(1_000), pid: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 40 }),
        (reads) => {
          const desired = desiredOf({ web: ['h1/c1'] });
          const store = new TrafficStore();
          const b = new StatFixture(T0);
          let last = 0;
          reads.forEach((r, i) => {
            feed(store, b, desired, [{ backend: 'svc_web', server: 's1', req: r.req, c5xx: r.c5xx }], T0 + (i + 1) * 1_000, { pid: r.pid, uptime: i });
            const total = store.services.get('web')!.total;
            expect(total.requests).toBeGreaterThanOrEqual(last);
            last = total.requests;
            const view = serviceTraffic(store, 'web', true)!;
            expect(view.requestsPerSecond).toBeGreaterThanOrEqual(0);
            expect(view.errorRate).toBeGreaterThanOrEqual(0);
            for (const p of view.series ?? []) expect(p.requestsPerSecond).toBeGreaterThanOrEqual(0);
          });
        },
      ),
    );
  });

  it('property: counterDelta is never negative', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (a, b) => {
        const x = { ...zeroCounters(), requests: a };
        const y = { ...zeroCounters(), requests: b };
        expect(counterDelta(x, y).requests).toBeGreaterThanOrEqual(0);
      }),
    );
  });
});

describe('rings', () => {
  it('keeps 180 points of 5 s, zeros for the gaps, and forgets older ones', () => {
    const ring = new Ring(2);
    ring.push(10, [1, 2]);
    ring.push(13, [3, 4]);
    expect(ring.get(11, 0)).toBe(0);
    expect(ring.get(13, 1)).toBe(4);
    ring.push(10 + POINTS + 5, [5, 6]);
    expect(ring.get(13, 0)).toBe(0);
    expect(ring.bytes).toBe(POINTS * 2 * 4);
  });

  it('aggregates 1-s samples into 5-s points, oldest first, with a rate over the window', () => {
    const series = new PointSeries(1, T0);
    for (let i = 1; i <= 30; i++) series.add(T0 + i * 1_000, [10], T0 + (i - 1) * 1_000);
    const points = series.points(POINTS);
    expect(points.length).toBeGreaterThanOrEqual(5);
    expect(points.at(-1)!.get(0)).toBe(50);
    expect((series.window(0) * 1000) / series.windowMs()).toBeCloseTo(10, 0);
    expect(points[1]!.index - points[0]!.index).toBe(1);
    expect(points[0]!.index * POINT_MS).toBeGreaterThanOrEqual(Math.floor(T0 / POINT_MS) * POINT_MS);
  });

  it('the summary pads sparklines to 60 points, and a service gone for 15 minutes is dropped', () => {
    const store = new TrafficStore();
    const b = new StatFixture(T0);
    const desired = desiredOf({ web: ['h1/c1'] });
    for (let i = 1; i <= 20; i++) feed(store, b, desired, [{ backend: 'svc_web', server: 's1', req: i * 10, c2xx: i * 10 }], T0 + i * 1_000);
    const summary = trafficSummary(store);
    expect(summary.services.web!.spark).toHaveLength(60);
    expect(summary.services.web!.spark.at(-1)).toBe(10);
    // web's line leaves at the next read; 15 minutes after that it is forgotten, not before.
    feed(store, b, desiredOf({ other: ['h1/c9'] }), [{ backend: 'svc_other', server: 's1', req: 1 }], T0 + 21_000);
    store.prune(T0 + 15 * 60_000);
    expect(store.services.has('web')).toBe(true);
    feed(store, b, desiredOf({ other: ['h1/c9'] }), [{ backend: 'svc_other', server: 's1', req: 1 }], T0 + 16 * 60_000);
    store.prune(T0 + 16 * 60_000);
    expect(store.services.has('web')).toBe(false);
    expect(store.endpoints.has('web/h1/c1')).toBe(false);
    expect(store.services.has('other')).toBe(true);
  });

  it('an idle endpoint holds no entity, a busy one its ring, and ringBytes() follows allocation and pruning without a recount', () => {
    const store = new TrafficStore();
    const b = new StatFixture(T0);
    const desired = desiredOf({ web: ['h1/busy', 'h1/idle'] });
    const recount = () =>
      [store.services, store.endpoints, store.versions].reduce((sum, map) => sum + [...map.values()].reduce((n, e) => n + e.series.bytes, 0), 0);
    for (let i = 1; i <= 12; i++) {
      const lines = [
        { backend: 'svc_web', server: 's1', req: i * 10, c2xx: i * 10 },
        { backend: 'svc_web', server: 's2', req: 0 },
      ];
      feed(store, b, desired, lines, T0 + i * 1_000);
      expect(store.ringBytes()).toBe(recount());
    }
    // An endpoint that never said anything (no request, no session) is not even an entity.
    expect(store.endpoints.has('web/h1/idle')).toBe(false);
    expect(store.endpoints.get('web/h1/busy')!.series.ring.bytes).toBe(POINTS * 3 * 4);
    feed(store, b, desiredOf({ other: ['h1/c9'] }), [{ backend: 'svc_other', server: 's1', req: 1 }], T0 + 16 * 60_000);
    store.prune(T0 + 16 * 60_000);
    expect(store.ringBytes()).toBe(recount());
  });

  it('a ring allocated late reads zeros for its idle points, as one allocated at once', () => {
    const lazy = new Ring(2);
    const eager = new Ring(2);
    eager.push(3, [1, 0]);
    for (const [index, values] of [
      [5, [0, 0]],
      [6, [0, 0]],
      [8, [2, 3]],
      [8, [1, 1]],
    ] as const) {
      lazy.push(index, values);
      eager.push(index, values);
    }
    expect(lazy.get(8, 0)).toBe(3);
    for (const index of [5, 6, 7, 8]) for (const field of [0, 1]) expect(lazy.get(index, field)).toBe(eager.get(index, field));
  });
});
