// HAProxy-run health checks, the pure parts: the `show stat` parser (on a real HAProxy 2.6 answer),
// slot → endpoint mapping, one server line → check status, the backend's check settings, and what
// the desired state and the diff do differently when HAProxy runs the checks.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/model/endpoint.js';
import { desiredHaproxy } from '../haproxy/desired.js';
import { diffHaproxy } from '../haproxy/diff.js';
import { readStatTable } from '../haproxy/stat-csv.js';
import { backendCheck } from '../health/backend-check.js';
import { HaproxyChecks } from '../health/haproxy-checks.js';
import { CHECK_STAT_COLUMNS, parseShowStat, type ServerCheckRow } from '../health/haproxy-stat.js';
import { checkError, checkedSlots, statusFromRow } from '../health/haproxy-verdicts.js';
import { DEFAULT_CHECK } from '../health/spec.js';
import { type CheckStatus, INITIAL_STATUS } from '../health/state.js';
import type { Model } from '../model.js';
import { TRAFFIC_STAT_COLUMNS, trafficRows } from '../traffic/stat.js';
import { endpointEntry, ep, modelOf, specEntry } from './fixtures.js';

const FIXTURE = fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/haproxy-2.6-show-stat.csv'), 'utf8');

describe('parseShowStat', () => {
  it('reads every server line of a real HAProxy 2.6 answer by column name', () => {
    const rows = parseShowStat(FIXTURE)!;
    expect(rows.map((r) => `${r.backend}/${r.server} ${r.status} ${r.checkStatus}`)).toEqual(['svc_a/s1 DOWN L7STS', 'svc_a/s2 MAINT ', 'svc_a/s3 DOWN L4CON']);
    expect(rows[0]).toMatchObject({ checkCode: 503, health: 0, rise: 2, fall: 2, lastCheck: 'Service Unavailable' });
    expect(rows[2]).toMatchObject({ checkCode: undefined, lastCheck: 'Connection refused' });
  });

  it('reads the same from a table split once for checks and traffic (a shared read)', () => {
    const table = readStatTable(FIXTURE, [...CHECK_STAT_COLUMNS, ...TRAFFIC_STAT_COLUMNS])!;
    expect(parseShowStat(table)).toEqual(parseShowStat(FIXTURE));
    expect(trafficRows(table)).toEqual(trafficRows(FIXTURE));
    expect(trafficRows(table)!.length).toBeGreaterThan(0);
  });

  it('handles quoted fields, a check in progress, and refuses an answer that is not show stat', () => {
    const header = '# pxname,svname,status,check_status,check_code,last_chk,check_health,check_rise,check_fall,\n';
    const rows = parseShowStat(`${header}b,s1,UP 1/3,* L7OK,200,"ok, fine ""really""",4,2,3,\nb,BACKEND,UP,,,,,,,\n`)!;
    expect(rows).toEqual([expect.objectContaining({ server: 's1', status: 'UP 1/3', checkStatus: 'L7OK', lastCheck: 'ok, fine "really"', health: 4 })]);
    expect(parseShowStat('Unknown command.\n')).toBeUndefined();
    expect(parseShowStat('')).toBeUndefined();
  });
});

function row(overrides: Partial<ServerCheckRow>): ServerCheckRow {
  return {
    backend: 'svc_web',
    server: 's1',
    status: 'UP',
    checkStatus: 'L7OK',
    checkCode: 200,
    checkDurationMs: 1,
    lastChangeS: 5,
    lastCheck: '',
    health: 4,
    rise: 2,
    fall: 3,
    ...overrides,
  };
}

describe('statusFromRow', () => {
  const at = 1_000_000;
  const healthy: CheckStatus = { ...INITIAL_STATUS, state: 'healthy', successes: 3, since: 1, lastCheck: 1, lastDurationMs: 1 };

  it.each([
    { name: 'up, full health', r: {}, state: 'healthy', failures: 0 },
    { name: 'up, going down after one failure', r: { status: 'UP 2/3', health: 3, checkStatus: 'L7STS', checkCode: 503 }, state: 'healthy', failures: 1 },
    { name: 'down after fall failures', r: { status: 'DOWN', health: 0, checkStatus: 'L7STS', checkCode: 503 }, state: 'unhealthy', failures: 3 },
    { name: 'down, going up (one success of rise 2)', r: { status: 'DOWN 1/2', health: 1 }, state: 'unhealthy', failures: 0 },
    { name: 'draining but checked: the health counter decides', r: { status: 'DRAIN', health: 4 }, state: 'healthy', failures: 0 },
  ])('$name', ({ r, state, failures }) => {
    const next = statusFromRow(row(r), INITIAL_STATUS, at, 2);
    expect(next).toMatchObject({ state, failures });
  });

  it('keeps the last word while HAProxy has none: maintenance, not checked yet (INI, after a reload), no check', () => {
    for (const r of [{ status: 'MAINT' }, { status: 'MAINT (via x/y)' }, { checkStatus: 'INI', health: 2 }, { status: 'no check', checkStatus: '' }]) {
      expect(statusFromRow(row(r), healthy, at, 2)).toBe(healthy);
    }
  });

  it('says why a check failed as the router checker does, and keeps it until the endpoint is healthy again', () => {
    const down = statusFromRow(row({ status: 'DOWN', health: 0, checkStatus: 'L7STS', checkCode: 503, lastChangeS: 2 }), healthy, at, 2);
    expect(down).toMatchObject({ state: 'unhealthy', lastError: 'HTTP 503', since: at - 2_000 });
    const rising = statusFromRow(row({ status: 'DOWN 1/2', health: 1 }), down, at + 1_000, 2);
    expect(rising).toMatchObject({ state: 'unhealthy', lastError: 'HTTP 503', successes: 1, since: down.since });
    const up = statusFromRow(row({ status: 'UP', health: 4 }), rising, at + 2_000, 2);
    expect(up).toMatchObject({ state: 'healthy', lastError: undefined });
    expect(statusFromRow(row({ status: 'UP', health: 4 }), up, at + 3_000, 2)).toBe(up); // unchanged: the same object
    expect(checkError({ checkStatus: 'L4CON', checkCode: undefined, lastCheck: 'Connection refused' })).toBe('connect: ECONNREFUSED');
    expect(checkError({ checkStatus: 'L4TOUT', checkCode: undefined, lastCheck: '' })).toBe('timeout');
  });
});

function model(entries: Parameters<typeof modelOf>[0]): Model {
  return modelOf(entries);
}

describe('backendCheck', () => {
  it('takes the spec over labels over the router defaults, per backend', () => {
    const labelled = { check: { path: '/h', intervalMs: 500 } };
    const m = model([endpointEntry(ep('web', 'a', labelled)), endpointEntry(ep('web', 'b', labelled)), endpointEntry(ep('web', 'c'))]);
    expect(backendCheck(m.services[0]!, DEFAULT_CHECK)).toMatchObject({ kind: 'http', path: '/h', intervalMs: 500, source: 'labels', rise: 2, fall: 3 });
    const spec = model([specEntry({ name: 'web', healthCheck: { path: '/s', rise: 1 } }), endpointEntry(ep('web', 'a', labelled))]);
    expect(backendCheck(spec.services[0]!, DEFAULT_CHECK)).toMatchObject({ kind: 'http', path: '/s', intervalMs: 500, rise: 1, source: 'spec' });
    const none = model([endpointEntry(ep('web', 'a'))]);
    expect(backendCheck(none.services[0]!, DEFAULT_CHECK)).toMatchObject({ kind: 'tcp', source: 'default', intervalMs: 2_000 });
    expect(backendCheck(none.services[0]!, { ...DEFAULT_CHECK, unconfigured: 'none' })).toBeUndefined();
  });
});

describe('desired state and diff when HAProxy runs the checks', () => {
  const entries = [endpointEntry(ep('web', 'a', { port: 8001 })), endpointEntry(ep('web', 'b', { port: 8002 }))];

  it('maps each filled slot of a service backend to its endpoint key', () => {
    const { desired } = desiredHaproxy(model(entries), new Map(), undefined, undefined, DEFAULT_CHECK);
    const slots = new Map(
      [...checkedSlots(desired)].flatMap(([backend, servers]) => [...servers].map(([server, key]) => [`${backend}/${server}`, key] as const)),
    );
    expect([...slots.values()].sort()).toEqual(
      [`web/${ep('web', 'a').host}/${ep('web', 'a').container}`, `web/${ep('web', 'b').host}/${ep('web', 'b').container}`].sort(),
    );
    expect([...slots.keys()].sort()).toEqual(['svc_web/s1', 'svc_web/s2']);
    // Without HAProxy checks nothing is read.
    expect(checkedSlots(desiredHaproxy(model(entries), new Map()).desired).size).toBe(0);
  });

  it('keeps a slot HAProxy marked down in rotation state (HAProxy stops checking servers in maintenance), and sends no "health up"', () => {
    const first = desiredHaproxy(model(entries), new Map(), undefined, undefined, DEFAULT_CHECK);
    const sick = model(entries);
    sick.services[0]!.endpoints = sick.services[0]!.endpoints.map((e, i) => (i === 0 ? { ...e, activeHealth: 'unhealthy' as const } : e));
    const second = desiredHaproxy(sick, first.slots, undefined, undefined, DEFAULT_CHECK);
    expect(second.desired.backends[0]!.servers[0]!.state).toBe('ready');
    expect(diffHaproxy(first.desired, second.desired)).toEqual({ kind: 'none' });
    // Draining back to ready: a state op that leaves HAProxy's health alone.
    const draining = model([endpointEntry(ep('web', 'a', { port: 8001, state: 'draining' })), entries[1]!]);
    const drained = desiredHaproxy(draining, first.slots, undefined, undefined, DEFAULT_CHECK);
    const back = diffHaproxy(drained.desired, desiredHaproxy(model(entries), drained.slots, undefined, undefined, DEFAULT_CHECK).desired);
    expect(back).toMatchObject({
      kind: 'runtime',
      ops: expect.arrayContaining([{ kind: 'state', backend: 'svc_web', server: 's1', state: 'ready', haproxyChecks: true }]),
    });
  });

  it('reloads when a backend check setting changes (none can change at run time)', () => {
    const first = desiredHaproxy(model(entries), new Map(), undefined, undefined, DEFAULT_CHECK);
    const withSpec = model([specEntry({ name: 'web', healthCheck: { path: '/healthz' } }), ...entries]);
    const second = desiredHaproxy(withSpec, first.slots, undefined, undefined, DEFAULT_CHECK);
    expect(diffHaproxy(first.desired, second.desired)).toEqual({ kind: 'reload', reason: 'backend svc_web health check changed' });
  });
});

describe('HaproxyChecks: verdicts read back into the model', () => {
  const header = '# pxname,svname,status,check_status,check_code,check_duration,lastchg,last_chk,check_health,check_rise,check_fall,\n';
  const line = (server: string, status: string, check: string, code: string, health: number) =>
    `svc_web,${server},${status},${check},${code},1,3,,${health},2,3,\n`;

  async function setup() {
    const m = model([endpointEntry(ep('web', 'a', { port: 8001 })), endpointEntry(ep('web', 'b', { port: 8002 }))]);
    const { desired } = desiredHaproxy(m, new Map(), undefined, undefined, DEFAULT_CHECK);
    let answer = '';
    const silent = { warn() {}, info() {}, debug() {}, error() {}, child: () => silent } as unknown as ConstructorParameters<typeof HaproxyChecks>[0]['logger'];
    const checks = new HaproxyChecks({
      defaults: DEFAULT_CHECK,
      haproxy: { adminSocket: '/nonexistent', appliedDesired: () => desired },
      logger: silent,
      command: async () => answer,
    });
    const changes: string[] = [];
    checks.on('change', (key, status) => changes.push(`${key} ${status.state}`));
    checks.sync(m);
    const [a, b] = m.services[0]!.endpoints as [Endpoint, Endpoint];
    return { checks, a, b, changes, say: (text: string) => void (answer = text) };
  }

  it('maps each server line to its endpoint, emits a change only when serving flips, and keeps verdicts through INI and failed reads', async () => {
    const { checks, a, b, changes, say } = await setup();
    expect(checks.verdict(a)).toBeUndefined();
    say(header + line('s1', 'UP', 'L7OK', '200', 4) + line('s2', 'UP', 'L7OK', '200', 4));
    await checks.readOnce();
    expect([checks.verdict(a), checks.verdict(b)]).toEqual(['healthy', 'healthy']);
    expect(changes).toEqual([]); // unknown → healthy: serving either way
    const version = checks.version;
    say(header + line('s1', 'DOWN', 'L7STS', '503', 0) + line('s2', 'UP', 'L7OK', '200', 4));
    await checks.readOnce();
    expect(checks.verdict(a)).toBe('unhealthy');
    expect(checks.version).toBeGreaterThan(version);
    expect(changes).toEqual([`web/${a.host}/${a.container} unhealthy`]);
    expect(checks.view(a)).toMatchObject({ kind: 'tcp', source: 'default', state: 'unhealthy', lastError: 'HTTP 503', target: `tcp://${a.address}:8001` });
    expect(checks.effectiveHealth(a)).toBe('unhealthy');
    expect(checks.counts()).toMatchObject({ unhealthy: 1, healthy: 1 });
    // After a reload: INI, then an error answer: the verdict stays.
    say(header + line('s1', 'UP', 'INI', '', 2));
    await checks.readOnce();
    say('Unknown command.\n');
    await checks.readOnce();
    expect(checks.verdict(a)).toBe('unhealthy');
    expect(checks.checks).toMatchObject({ runBy: 'haproxy', endpoints: 2, readFailures: 1 });
    await checks.stop();
  });

  it('keeps counts() as endpoints come, go and change health, equal to a fresh count', async () => {
    const { checks, a, say } = await setup();
    say(header + line('s1', 'DOWN', 'L7STS', '503', 0) + line('s2', 'UP', 'L7OK', '200', 4));
    await checks.readOnce();
    expect(checks.counts()).toMatchObject({ unhealthy: 1, healthy: 1 });
    // b leaves, c comes (docker says starting), a's docker health changes: counts follow each.
    checks.sync(model([endpointEntry({ ...a, health: 'healthy' }), endpointEntry(ep('web', 'c', { port: 8003, health: 'starting' }))]));
    const counts = checks.counts();
    expect(Object.values(counts).reduce((n, c) => n + c, 0)).toBe(2);
    expect(counts.unhealthy).toBe(1);
    expect(counts.healthy).toBe(0);
    checks.sync(model([]));
    expect(Object.values(checks.counts()).every((c) => c === 0)).toBe(true);
    await checks.stop();
  });

  it('shares its reads without the check columns while nothing is checked, and with them once something is', async () => {
    const plain = model([endpointEntry(ep('web', 'a', { port: 8001 }))]);
    const checked = model([specEntry({ name: 'web', healthCheck: { path: '/healthz' } }), endpointEntry(ep('web', 'a', { port: 8001 }))]);
    const defaults = { ...DEFAULT_CHECK, unconfigured: 'none' as const };
    let desired = desiredHaproxy(plain, new Map(), undefined, undefined, defaults).desired;
    let answer = '';
    const silent = { warn() {}, info() {}, debug() {}, error() {}, child: () => silent } as unknown as ConstructorParameters<typeof HaproxyChecks>[0]['logger'];
    const checks = new HaproxyChecks({
      defaults,
      haproxy: { adminSocket: '/nonexistent', appliedDesired: () => desired },
      logger: silent,
      command: async () => answer,
    });
    const heard: number[] = [];
    checks.shareReads('show stat', ['pxname', 'svname', 'stot'], (changes) => void heard.push(changes.table.lines.length));
    const traffic = (stot: number, check: string, status = 'UP', code = '200', health = 4) =>
      `${header.trimEnd()}stot,\n${line('s1', status, check, code, health).trimEnd()}${stot},\n`;
    checks.sync(plain);
    say(traffic(0, 'L4OK'));
    await checks.readOnce();
    // Only a check ended (no check of fabric's: HAProxy's own TCP one): nothing for traffic.
    say(traffic(0, 'L4CON'));
    await checks.readOnce();
    say(traffic(5, 'L4CON'));
    await checks.readOnce();
    expect(heard).toEqual([1, 0, 1]);

    desired = desiredHaproxy(checked, new Map(), undefined, undefined, defaults).desired;
    checks.sync(checked);
    const [a] = checked.services[0]!.endpoints as [Endpoint];
    say(traffic(5, 'L7STS', 'DOWN', '503', 0));
    await checks.readOnce();
    expect(checks.verdict(a)).toBe('unhealthy');
    // The new feed's first read is the whole table.
    expect(heard).toEqual([1, 0, 1, 1]);
    await checks.stop();

    function say(text: string) {
      answer = text;
    }
  });

  it('reads nothing from HAProxy while no endpoint is checked', async () => {
    const m = model([endpointEntry(ep('web', 'a'))]);
    const { desired } = desiredHaproxy(m, new Map(), undefined, undefined, DEFAULT_CHECK);
    let asked = 0;
    const silent = { warn() {}, info() {}, debug() {}, error() {}, child: () => silent } as unknown as ConstructorParameters<typeof HaproxyChecks>[0]['logger'];
    const checks = new HaproxyChecks({
      defaults: { ...DEFAULT_CHECK, unconfigured: 'none' },
      haproxy: { adminSocket: '/nonexistent', appliedDesired: () => desired },
      logger: silent,
      command: async () => {
        asked += 1;
        return '';
      },
    });
    checks.sync(m);
    await checks.readOnce();
    expect(asked).toBe(0);
    expect(checks.checks.endpoints).toBe(0);
    await checks.stop();
  });
});
