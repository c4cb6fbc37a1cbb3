// `fabric status`'s screen: the pure formatter, no processes.
import { describe, expect, it } from 'vitest';
import { statusScreen } from '../../src/ctl/status-command.js';
import { cut, formatStatusScreen, type StatusScreen } from '../../src/ctl/status-screen.js';

const NOW = Date.parse('2026-12-02T05:10:12.000Z');

const base: StatusScreen = {
  router: 'http://127.0.0.1:7080',
  state: 'running',
  etcd: { watch: 'watching', revision: 42 },
  problems: [],
  services: [],
  lastReload: null,
  hosts: [],
  issues: 0,
};

describe('fabric status screen', () => {
  it('problems first, then services, last reload (with its date), hosts and issues', () => {
    const text = formatStatusScreen(
      {
        ...base,
        etcd: { watch: 'disconnected' },
        problems: [
          { severity: 'warning', code: 'FABRIC_ERR_NO_READY_ENDPOINT', message: 'service empty: no endpoints' },
          { severity: 'critical', code: 'FABRIC_ERR_ETCD_UNAVAILABLE', message: 'etcd unreachable' },
        ],
        services: [
          { name: 'web', ready: 2, total: 3, requestsPerSecond: 12.34, errorRate: 0.004 },
          { name: 'empty', ready: 0, total: 0, requestsPerSecond: null, errorRate: null },
          { name: 'api', ready: 1, total: 1, requestsPerSecond: 250, errorRate: 0 },
        ],
        lastReload: { at: '2026-12-02T05:10:00.000Z', target: 'haproxy', message: 'haproxy: reloaded at revision 41' },
        hosts: [
          { host: 'node-2', alive: false, agentVersion: '0.1.0', containers: null },
          { host: 'node-1', alive: true, agentVersion: '0.1.0', containers: { registered: 3, rejected: 1 } },
        ],
        issues: 2,
      },
      { now: NOW },
    );
    expect(text).toBe(
      [
        'fabric router http://127.0.0.1:7080 · running · etcd disconnected',
        '',
        'PROBLEMS (2)',
        '  CRITICAL  etcd unreachable',
        '  WARNING   service empty: no endpoints',
        '',
        'SERVICES (3)',
        '  NAME    READY   REQ/S   5XX %',
        '  empty   0/0     -       -',
        '  api     1/1     250     0.0%',
        '  web     2/3     12.3    0.4%',
        '',
        'LAST RELOAD  2026-12-02 05:10:00Z (12s ago): haproxy: reloaded at revision 41',
        '',
        'HOSTS (1 alive of 2)',
        '  HOST     ALIVE   CONTAINERS   REJECTED   AGENT',
        '  node-2   NO      -            -          0.1.0',
        '  node-1   yes     3            1          0.1.0',
        '',
        'ISSUES  2 open (fabric: GET /v1/status issues)',
        '',
      ].join('\n'),
    );
  });

  it('fits 80 columns and cuts long lists with "… N more"', () => {
    const services = Array.from({ length: 40 }, (_, i) => ({
      name: `service-with-a-rather-long-name-number-${String(i).padStart(2, '0')}`,
      ready: 1,
      total: 1,
      requestsPerSecond: 1,
      errorRate: 0,
    }));
    const problems = Array.from({ length: 12 }, (_, i) => ({ severity: 'warning', code: 'X', message: `problem ${i} `.repeat(20) }));
    const text = formatStatusScreen({ ...base, services, problems, hosts: null }, { now: NOW });
    const lines = text.trimEnd().split('\n');
    for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(80);
    expect(lines).toContain('  … 25 more');
    expect(lines).toContain('  … 4 more');
    expect(text).not.toContain('HOSTS'); // a router without /v1/hosts
    expect(formatStatusScreen(base, { now: NOW })).toContain('\nHOSTS: none (no agent has registered)\n');
    expect(text).toContain('  service-with-a-rather-long-name…   1/1');
    expect(text).toContain('LAST RELOAD  none yet');
  });

  it('cuts with an ellipsis only what is too long', () => {
    expect(cut('abc', 3)).toBe('abc');
    expect(cut('abcd', 3)).toBe('ab…');
  });

  it("reads the router's answers: traffic from /v1/traffic, else each service's own, else unknown", () => {
    const screen = statusScreen(
      'http://r',
      { state: 'running', etcd: { watch: 'watching', revision: 7 }, problems: [], issues: [{}], targets: [] },
      {
        services: [
          { name: 'a', healthy: 1, endpoints: [{}, {}] },
          { name: 'b', healthy: 0, endpoints: [], traffic: { requestsPerSecond: 3, errorRate: 0.5 } },
          { name: 'c', healthy: 0, endpoints: [] },
        ],
      },
      null,
      { services: { a: { requestsPerSecond: 9, errorRate: 0 } } },
      { events: [] },
    );
    expect(screen.services).toEqual([
      { name: 'a', ready: 1, total: 2, requestsPerSecond: 9, errorRate: 0 },
      { name: 'b', ready: 0, total: 0, requestsPerSecond: 3, errorRate: 0.5 },
      { name: 'c', ready: 0, total: 0, requestsPerSecond: null, errorRate: null },
    ]);
    expect(screen).toMatchObject({ hosts: null, issues: 1, lastReload: null, etcd: { revision: 7 } });
  });
});
