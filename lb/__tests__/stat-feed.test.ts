// lb/haproxy/stat-feed: `show stat` answers as deltas (only changed lines cross from the thread),
// the router's mirror of the whole table, and the traffic store fed from deltas as from whole tables.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type StatDelta, unpack } from '../haproxy/stat-feed/delta.js';
import { StatDiffer } from '../haproxy/stat-feed/differ.js';
import { StatMirror } from '../haproxy/stat-feed/mirror.js';
import { TrafficStore } from '../traffic/store.js';
import { serviceTraffic, trafficSummary } from '../traffic/view.js';
import { desiredOf, StatFixture, type StatLine, statAnswer } from './traffic-fixtures.js';

const T0 = 1_796_000_000_000;
const COLUMNS = ['pxname', 'svname', 'status', 'lastchg'];
const header = '# pxname,svname,status,lastchg,\n';
const row = (server: string, status: string, lastchg: number) => `b,${server},${status},${lastchg},\n`;
const rowsOf = (delta: StatDelta) => unpack({ at: delta.at, lines: delta.changed }).rows;

describe('StatDiffer', () => {
  it('sends new, changed and returning lines, never one that only a volatile column changed, and names the ones that left', () => {
    const differ = new StatDiffer(COLUMNS, ['lastchg']);
    const first = differ.diff(`Pid: 1\n\n${header}${row('s1', 'UP', 1)}${row('s2', 'UP', 1)}\n`)!;
    expect(first.full).toBe(true);
    expect(first.preamble).toBe('Pid: 1\n\n');
    expect(rowsOf(first).map((f) => f[first.at.svname!])).toEqual(['s1', 's2']);
    const second = differ.diff(header + row('s1', 'UP', 2) + row('s2', 'DOWN', 2))!;
    expect(second.full).toBe(false);
    expect(rowsOf(second).map((f) => f[1])).toEqual(['s2']);
    expect(second.rows).toBe(2);
    const third = differ.diff(header + row('s2', 'DOWN', 3))!;
    expect([third.changed.length, third.gone]).toEqual([0, ['b/s1']]);
    // s1 back as it was before it left: sent again, since whoever reads the deltas dropped it.
    const fourth = differ.diff(header + row('s1', 'UP', 4) + row('s2', 'DOWN', 4))!;
    expect(rowsOf(fourth).map((f) => f[1])).toEqual(['s1']);
    // A check under way ("* " before its last status) is no change; its end with another status is.
    const cols = ['pxname', 'svname', 'check_status'];
    const checks = new StatDiffer(cols);
    checks.diff('# pxname,svname,check_status,\nb,s1,L4OK,\n');
    expect(checks.diff('# pxname,svname,check_status,\nb,s1,* L4OK,\n')!.changed).toEqual([]);
    expect(rowsOf(checks.diff('# pxname,svname,check_status,\nb,s1,L4CON,\n')!)).toEqual([['b', 's1', 'L4CON']]);
    expect(differ.diff('Unknown command.\n')).toBeUndefined();
    // Other columns (another HAProxy binary): everything again.
    expect(differ.diff('# pxname,svname,lastchg,status,\nb,s1,5,UP,\n')!.full).toBe(true);
  });
});

describe('packed rows', () => {
  it('carry the asked columns, pxname and svname first, a quoted comma as it is, an absent column as -1', () => {
    const differ = new StatDiffer(['status', 'last_chk', 'pxname', 'svname', 'nosuch']);
    const delta = differ.diff('# pxname,svname,status,last_chk,\nb,s1,DOWN,"L7STS, 503",\n')!;
    expect(delta.at).toEqual({ pxname: 0, svname: 1, status: 2, last_chk: 3, nosuch: -1 });
    expect(rowsOf(delta)).toEqual([['b', 's1', 'DOWN', 'L7STS, 503', '']]);
    expect(delta.changed.length).toBe(1);
  });
});

describe('StatMirror', () => {
  it('holds the whole table from deltas; a full delta replaces it and names what left; tableWith adds a backend once', () => {
    const differ = new StatDiffer(COLUMNS, ['lastchg']);
    const mirror = new StatMirror();
    mirror.apply(differ.diff(header + row('s1', 'UP', 1) + row('s2', 'UP', 1))!);
    const changes = mirror.apply(differ.diff(header + row('s1', 'DOWN', 2) + row('s2', 'UP', 2))!);
    expect(mirror.size).toBe(2);
    // The changed s1 once, and s2 from the mirror, for a backend whose slots changed hands.
    expect(unpack(mirror.tableWith(changes, ['b'])).rows.map((f) => `${f[1]} ${f[2]}`)).toEqual(['s1 DOWN', 's2 UP']);
    const fresh = new StatDiffer(COLUMNS, ['lastchg']);
    const full = mirror.apply(fresh.diff(header + row('s2', 'UP', 3))!);
    expect(full.gone).toEqual(['b/s1']);
    expect(mirror.size).toBe(1);
  });
});

/** One read of a few slots: counters that mostly stay, sessions that come and go, slots that leave and return. */
const readArb = fc.record({
  s1: fc.option(fc.record({ req: fc.nat(3), scur: fc.nat(2) }), { nil: undefined }),
  s2: fc.option(fc.record({ req: fc.nat(3), scur: fc.nat(2) }), { nil: undefined }),
  queue: fc.nat(2),
  pid: fc.integer({ min: 1, max: 2 }),
  gapMs: fc.integer({ min: 500, max: 7_000 }),
});

describe('the traffic store fed from deltas', () => {
  it('property: the same totals, gauges and views as when every line is handed over at every read', () => {
    fc.assert(
      fc.property(fc.array(readArb, { minLength: 1, maxLength: 30 }), (reads) => {
        const desired = desiredOf({ web: ['h1/c1', 'h1/c2'] });
        const sparse = new TrafficStore();
        const dense = new TrafficStore();
        const [fs, fd] = [new StatFixture(T0), new StatFixture(T0, true)];
        const counters = { s1: 0, s2: 0 };
        let [at, pid, uptime] = [T0, 1, 0];
        for (const r of reads) {
          at += r.gapMs;
          if (r.pid !== pid) [pid, uptime, counters.s1, counters.s2] = [r.pid, 0, 0, 0];
          uptime += 1;
          const lines: StatLine[] = [{ backend: 'svc_web', server: 'BACKEND', qcur: r.queue }];
          for (const slot of ['s1', 's2'] as const) {
            const read = r[slot];
            if (!read) continue;
            counters[slot] += read.req;
            lines.push({ backend: 'svc_web', server: slot, req: counters[slot], c2xx: counters[slot], scur: read.scur, rtime: read.req > 0 ? 5 : 0 });
          }
          const text = statAnswer(lines, { pid, uptime });
          fs.feed(sparse, text, desired, at);
          fd.feed(dense, text, desired, at);
          expect(serviceTraffic(sparse, 'web', true)).toEqual(serviceTraffic(dense, 'web', true));
        }
        expect(trafficSummary(sparse)).toEqual(trafficSummary(dense));
        for (const key of dense.endpoints.keys()) expect(sparse.endpoints.get(key)!.gauge).toEqual(dense.endpoints.get(key)!.gauge);
      }),
      { numRuns: 200 },
    );
  });

  it('property: a read taken in steps (turns of the event loop between its lines) gives what it gives at once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(readArb, { minLength: 1, maxLength: 20 }), async (reads) => {
        const desired = desiredOf({ web: ['h1/c1', 'h1/c2'], api: ['h2/c1'] });
        const [once, stepped] = [new TrafficStore(), new TrafficStore()];
        const [fo, fs] = [new StatFixture(T0), new StatFixture(T0, false, 1)];
        let [at, pid, uptime, total] = [T0, 1, 0, 0];
        for (const r of reads) {
          at += r.gapMs;
          if (r.pid !== pid) [pid, uptime, total] = [r.pid, 0, 0];
          uptime += 1;
          total += r.s1?.req ?? 0;
          const lines: StatLine[] = [
            { backend: 'svc_web', server: 'BACKEND', qcur: r.queue },
            { backend: 'svc_web', server: 's1', req: total, c2xx: total, scur: r.s1?.scur ?? 0 },
            { backend: 'svc_web', server: 's2', req: 0 },
            { backend: 'svc_api', server: 's1', req: 0, scur: r.s2?.scur ?? 0 },
          ];
          const text = statAnswer(lines, { pid, uptime });
          fo.feed(once, text, desired, at);
          await fs.feedInSteps(stepped, text, desired, at);
          expect(serviceTraffic(stepped, 'web', true)).toEqual(serviceTraffic(once, 'web', true));
          expect(serviceTraffic(stepped, 'api', true)).toEqual(serviceTraffic(once, 'api', true));
        }
        expect(trafficSummary(stepped)).toEqual(trafficSummary(once));
      }),
      { numRuns: 100 },
    );
  });

  it('a new process listing only idle lines makes each service, at a zero rate, and no endpoint', async () => {
    const store = new TrafficStore();
    const f = new StatFixture(T0, false, 2);
    const desired = desiredOf({ web: ['h1/c1', 'h1/c2'], api: ['h2/c1'] });
    const idle = [
      { backend: 'svc_web', server: 's1', req: 0 },
      { backend: 'svc_web', server: 's2', req: 0 },
      { backend: 'svc_api', server: 's1', req: 0 },
    ];
    await f.feedInSteps(store, statAnswer(idle, { pid: 1, uptime: 1 }), desired, T0 + 1_000);
    await f.feedInSteps(store, statAnswer(idle, { pid: 2, uptime: 1 }), desired, T0 + 2_000);
    expect([...store.services.keys()].sort()).toEqual(['api', 'web']);
    expect(store.endpoints.size).toBe(0);
    expect(serviceTraffic(store, 'web')!.requestsPerSecond).toBe(0);
    // Its first request makes the endpoint.
    await f.feedInSteps(store, statAnswer([{ ...idle[0]!, req: 4, c2xx: 4 }, idle[1]!, idle[2]!], { pid: 2, uptime: 2 }), desired, T0 + 3_000);
    expect([...store.endpoints.keys()]).toEqual(['web/h1/c1']);
    expect(serviceTraffic(store, 'web')!.total.requests).toBe(4);
  });

  it("an idle service's rate falls to zero though its lines never change again", () => {
    const store = new TrafficStore();
    const f = new StatFixture(T0);
    const desired = desiredOf({ web: ['h1/c1'], other: ['h1/c2'] });
    const lines = (web: number, other: number): StatLine[] => [
      { backend: 'svc_web', server: 's1', req: web, c2xx: web },
      { backend: 'svc_other', server: 's1', req: other, c2xx: other },
    ];
    f.feed(store, statAnswer(lines(0, 0), { pid: 1, uptime: 1 }), desired, T0 + 1_000);
    f.feed(store, statAnswer(lines(100, 0), { pid: 1, uptime: 2 }), desired, T0 + 2_000);
    expect(serviceTraffic(store, 'web')!.requestsPerSecond).toBeGreaterThan(0);
    for (let i = 3; i <= 20; i++) f.feed(store, statAnswer(lines(100, i), { pid: 1, uptime: i }), desired, T0 + i * 1_000);
    expect(serviceTraffic(store, 'web')!.requestsPerSecond).toBe(0);
    expect(serviceTraffic(store, 'web')!.total.requests).toBe(100);
    expect(trafficSummary(store).services.web!.requestsPerSecond).toBe(0);
  });

  it("moves a slot's sessions to its new owner when the slot changes hands with its line unchanged, and ends them when it leaves", () => {
    const store = new TrafficStore();
    const f = new StatFixture(T0);
    const line = { backend: 'svc_web', server: 's1', req: 5, scur: 3 };
    f.feed(store, statAnswer([line], { pid: 1, uptime: 1 }), desiredOf({ web: ['h1/a'] }), T0 + 1_000);
    expect(store.endpoints.get('web/h1/a')!.gauge.sessions).toBe(3);
    f.feed(store, statAnswer([line], { pid: 1, uptime: 2 }), desiredOf({ web: ['h1/b'] }), T0 + 2_000);
    expect(store.endpoints.get('web/h1/a')!.gauge.sessions).toBe(0);
    expect(store.endpoints.get('web/h1/b')!.gauge.sessions).toBe(3);
    expect(store.services.get('web')!.gauge.sessions).toBe(3);
    f.feed(store, statAnswer([], { pid: 1, uptime: 3 }), desiredOf({ web: ['h1/b'] }), T0 + 3_000);
    expect(store.services.get('web')!.gauge.sessions).toBe(0);
  });
});
