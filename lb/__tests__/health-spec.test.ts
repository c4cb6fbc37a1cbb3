// Which check an endpoint gets: Service spec > container labels > router defaults, field by field.
import { describe, expect, it } from 'vitest';
import type { ServiceSpec } from '../../src/model/service.js';
import { effectiveHealth } from '../health/effective.js';
import { type CheckDefaults, DEFAULT_CHECK, probeTarget, resolveCheck } from '../health/spec.js';
import { buildModel, servingState } from '../model.js';
import { endpointEntry, ep, specEntry } from './fixtures.js';

const defaults: CheckDefaults = { ...DEFAULT_CHECK, intervalMs: 2_000, timeoutMs: 1_000, rise: 2, fall: 3 };
const spec = (healthCheck: ServiceSpec['healthCheck'], extra: Partial<ServiceSpec> = {}): ServiceSpec => ({ name: 'web', healthCheck, ...extra });

describe('resolveCheck', () => {
  it.each([
    [
      'nothing configured: a TCP connect with the router defaults',
      ep('web', 'a'),
      undefined,
      { kind: 'tcp', path: undefined, intervalMs: 2_000, timeoutMs: 1_000, rise: 2, fall: 3, source: 'default' },
    ],
    [
      'labels: HTTP on their path and interval',
      ep('web', 'a', { check: { path: '/healthz', intervalMs: 500 } }),
      undefined,
      { kind: 'http', path: '/healthz', intervalMs: 500, timeoutMs: 1_000, source: 'labels' },
    ],
    [
      'labels with only an interval: TCP at that interval',
      ep('web', 'a', { check: { intervalMs: 700 } }),
      undefined,
      { kind: 'tcp', intervalMs: 700, source: 'labels' },
    ],
    [
      'spec wins over labels, field by field',
      ep('web', 'a', { check: { path: '/label', intervalMs: 500 } }),
      spec({ path: '/spec', rise: 4 }),
      { kind: 'http', path: '/spec', intervalMs: 500, rise: 4, fall: 3, source: 'spec' },
    ],
    [
      'spec timing with a label path',
      ep('web', 'a', { check: { path: '/label' } }),
      spec({ interval: 300, timeout: 100, fall: 1 }),
      { kind: 'http', path: '/label', intervalMs: 300, timeoutMs: 100, fall: 1, source: 'spec' },
    ],
    ['a TCP service is TCP-checked even with a path', ep('db', 'a', { mode: 'tcp', check: { path: '/x' } }), undefined, { kind: 'tcp', path: undefined }],
    ['the spec mode decides', ep('web', 'a', { check: { path: '/x' } }), spec({}, { mode: 'tcp' }), { kind: 'tcp' }],
  ] as const)('%s', (_name, endpoint, serviceSpec, expected) => {
    expect(resolveCheck(endpoint, serviceSpec, defaults)).toMatchObject({ address: endpoint.address, port: endpoint.port, ...expected });
  });

  it('with `unconfigured: none` only endpoints that ask for a check get one', () => {
    const none = { ...defaults, unconfigured: 'none' as const };
    expect(resolveCheck(ep('web', 'a'), undefined, none)).toBeUndefined();
    expect(resolveCheck(ep('web', 'a', { check: { path: '/h' } }), undefined, none)?.kind).toBe('http');
    expect(resolveCheck(ep('web', 'a'), spec({ rise: 1 }), none)?.kind).toBe('tcp');
  });

  it('names the probed target, so a new address or path starts from scratch', () => {
    const check = resolveCheck(ep('web', 'a', { address: '10.1.2.3', port: 81, check: { path: '/h' } }), undefined, defaults)!;
    expect(probeTarget(check)).toBe('http://10.1.2.3:81/h');
    expect(probeTarget({ ...check, kind: 'tcp', address: 'fd00::1' })).toBe('tcp://[fd00::1]:81');
  });
});

describe('Docker health and the active check together', () => {
  it.each([
    ['none', undefined, 'unknown'],
    ['none', 'unknown', 'unknown'],
    ['none', 'healthy', 'healthy'],
    ['none', 'unhealthy', 'unhealthy'],
    ['healthy', undefined, 'healthy'],
    ['healthy', 'unhealthy', 'unhealthy'],
    ['unhealthy', 'healthy', 'unhealthy'],
    ['starting', 'healthy', 'starting'],
  ] as const)('docker %s + check %s → %s', (docker, check, expected) => {
    expect(effectiveHealth(docker, check)).toBe(expected);
  });

  it('the model takes the check verdict as an input: unhealthy → maint, whatever Docker says', () => {
    const a = ep('web', 'a', { health: 'healthy' });
    const b = ep('web', 'b');
    const c = ep('web', 'c', { health: 'starting' });
    const d = ep('web', 'd', { state: 'draining' });
    const verdicts = new Map([
      [a.container, 'unhealthy' as const],
      [c.container, 'healthy' as const],
      [d.container, 'healthy' as const],
    ]);
    const entries = [a, b, c, d].map((e) => endpointEntry(e));
    const model = buildModel(entries, 5, { domain: 'apps.test', health: (e) => verdicts.get(e.container) });
    const served = Object.fromEntries(model.services[0]!.endpoints.map((e) => [e.name, servingState(e)]));
    expect(served).toEqual({ a: 'maint', b: 'ready', c: 'maint', d: 'drain' });
    // Pure: the store's endpoints are not touched, and without the input nothing changes.
    expect((entries[0] as { endpoint: object }).endpoint).not.toHaveProperty('activeHealth');
    expect(buildModel(entries, 5, { domain: 'apps.test' }).services[0]!.endpoints.map(servingState)).toEqual(['ready', 'ready', 'maint', 'drain']);
    expect(specEntry({ name: 'web', healthCheck: { path: '/h', interval: '1s' } }).kind).toBe('service');
  });
});
