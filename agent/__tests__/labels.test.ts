import { describe, expect, it } from 'vitest';
import { isOptedIn, readLabels, type ServiceLabels } from '../labels.js';

const base = { 'fabric.service': 'web' };

function ok(labels: Record<string, string>): ServiceLabels {
  const result = readLabels(labels);
  if (!result.ok) throw new Error(`expected valid labels, got: ${result.reason}`);
  return result.labels;
}

describe('isOptedIn', () => {
  it.each([
    [undefined, false],
    [{}, false],
    [{ 'com.example': 'x' }, false],
    [{ 'fabric.port': '80' }, false],
    [{ 'fabric.service': 'web' }, true],
    // Opted in, and then refused by readLabels: the operator is told why.
    [{ 'fabric.service': '' }, true],
  ] as Array<[Record<string, string> | undefined, boolean]>)('%j → %s', (labels, expected) => {
    expect(isOptedIn(labels)).toBe(expected);
  });
});

describe('readLabels: every label of the contract', () => {
  it('reads a full set', () => {
    expect(
      ok({
        'fabric.service': 'shop',
        'fabric.port': '8080',
        'fabric.domains': 'WWW.Example.com, example.com,,',
        'fabric.path': '/api/v1',
        'fabric.weight': '0',
        'fabric.version': 'v2.1-rc_1',
        'fabric.mode': 'tcp',
        'fabric.health.path': '/healthz',
        'fabric.health.interval': '2s',
      }),
    ).toEqual({
      service: 'shop',
      port: 8080,
      domains: ['www.example.com', 'example.com'],
      path: '/api/v1',
      weight: 0,
      version: 'v2.1-rc_1',
      mode: 'tcp',
      check: { path: '/healthz', intervalMs: 2000 },
    });
  });

  it('fills in the defaults', () => {
    expect(ok(base)).toEqual({
      service: 'web',
      port: undefined,
      domains: [],
      path: undefined,
      weight: 100,
      version: undefined,
      mode: 'http',
      check: undefined,
    });
  });

  it('ignores labels that are not fabric.*', () => {
    expect(ok({ ...base, 'com.example.x': 'a b c', maintainer: '\n' }).service).toBe('web');
  });

  it.each([
    ['fabric.health.path', '/ready', { path: '/ready', intervalMs: undefined }],
    ['fabric.health.interval', '500ms', { path: undefined, intervalMs: 500 }],
    ['fabric.health.interval', '1m', { path: undefined, intervalMs: 60_000 }],
    ['fabric.health.interval', '1500', { path: undefined, intervalMs: 1500 }],
  ])('%s=%s → check %j', (label, value, check) => {
    expect(ok({ ...base, [label]: value }).check).toEqual(check);
  });
});

describe('readLabels: valid values', () => {
  it.each([
    ['fabric.service', 'a', 'service', 'a'],
    ['fabric.service', 'web-1', 'service', 'web-1'],
    ['fabric.service', '0x', 'service', '0x'],
    ['fabric.service', 'a'.repeat(63), 'service', 'a'.repeat(63)],
    ['fabric.port', '1', 'port', 1],
    ['fabric.port', '65535', 'port', 65535],
    ['fabric.port', ' 80 ', 'port', 80],
    ['fabric.weight', '0', 'weight', 0],
    ['fabric.weight', '256', 'weight', 256],
    ['fabric.domains', 'a.b', 'domains', ['a.b']],
    ['fabric.domains', 'xn--bcher-kva.example', 'domains', ['xn--bcher-kva.example']],
    ['fabric.domains', ' , ', 'domains', []],
    ['fabric.path', '/', 'path', '/'],
    ['fabric.path', '/a/b.c_d~e-f', 'path', '/a/b.c_d~e-f'],
    ['fabric.version', '1', 'version', '1'],
    ['fabric.mode', 'http', 'mode', 'http'],
    ['fabric.tls', 'auto', 'tls', 'auto'],
    ['fabric.tls', 'none', 'tls', 'none'],
    ['fabric.tls', 'auto-www.example.com', 'tls', 'auto-www.example.com'],
    ['fabric.tls', 'wildcard.example.com', 'tls', 'wildcard.example.com'],
  ] as Array<[string, string, keyof ServiceLabels, unknown]>)('%s=%j → %s %j', (label, value, field, expected) => {
    expect(ok({ ...base, [label]: value })[field]).toEqual(expected);
  });
});

describe('readLabels: invalid values are refused, naming the label', () => {
  const INJECTION = 'a.com\n  server evil 1.2.3.4:80';
  it.each([
    ['fabric.service', ''],
    ['fabric.service', 'Web'],
    ['fabric.service', 'web_1'],
    ['fabric.service', '-web'],
    ['fabric.service', 'web-'],
    ['fabric.service', 'a'.repeat(64)],
    ['fabric.service', 'web\nx'],
    ['fabric.service', 'we b'],
    ['fabric.port', 'http'],
    ['fabric.port', ''],
    ['fabric.port', '0'],
    ['fabric.port', '65536'],
    ['fabric.port', '-80'],
    ['fabric.port', '80.5'],
    ['fabric.port', '1e3'],
    ['fabric.port', '0x50'],
    ['fabric.port', '80/tcp'],
    ['fabric.tls', 'Auto'],
    ['fabric.tls', 'my cert'],
    ['fabric.tls', ''],
    ['fabric.weight', '300'],
    ['fabric.weight', '257'],
    ['fabric.weight', '-1'],
    ['fabric.weight', '1.5'],
    ['fabric.weight', 'heavy'],
    ['fabric.weight', ''],
    ['fabric.domains', INJECTION],
    ['fabric.tls', 'Web Cert'],
    ['fabric.tls', 'a;b'],
    ['fabric.tls', ''],
    ['fabric.domains', `ok.com,${INJECTION}`],
    ['fabric.domains', 'localhost'],
    ['fabric.domains', 'under_score.com'],
    ['fabric.domains', 'a..com'],
    ['fabric.domains', 'a.com.'],
    ['fabric.domains', '-a.com'],
    ['fabric.domains', 'a.com;b.com'],
    ['fabric.domains', '*.example.com'],
    ['fabric.domains', `${'a'.repeat(64)}.com`],
    ['fabric.domains', Array.from({ length: 65 }, (_, i) => `d${i}.example.com`).join(',')],
    ['fabric.path', 'api'],
    ['fabric.path', ''],
    ['fabric.path', '/a b'],
    ['fabric.path', '/a;b'],
    ['fabric.path', '/a\n'],
    ['fabric.path', '/a"b'],
    ['fabric.path', '/a{b}'],
    ['fabric.version', 'v 1'],
    ['fabric.version', '-v1'],
    ['fabric.version', ''],
    ['fabric.version', 'v1;'],
    ['fabric.mode', 'udp'],
    ['fabric.mode', 'HTTP'],
    ['fabric.mode', ''],
    ['fabric.health.path', 'healthz'],
    ['fabric.health.path', '/a b'],
    ['fabric.health.interval', 'often'],
    ['fabric.health.interval', '50ms'],
    ['fabric.health.interval', '2h'],
    ['fabric.health.interval', '-1s'],
    ['fabric.health.interval', ''],
  ])('%s=%j', (label, value) => {
    const result = readLabels({ ...base, [label]: value });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toContain(label);
  });

  it('names every bad label at once', () => {
    const result = readLabels({ 'fabric.service': 'Bad', 'fabric.port': 'x', 'fabric.weight': '999' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    for (const label of ['fabric.service', 'fabric.port', 'fabric.weight']) expect(result.reason).toContain(label);
  });
});
