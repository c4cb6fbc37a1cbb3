import { describe, expect, it } from 'vitest';
import { runningTls } from '../haproxy-adopt.js';
import { desiredTls, renderCrtList, type TlsDesired, tlsFiles } from '../haproxy-desired.js';
import { tlsMapChanges, tlsOps, tlsStructuralChange } from '../haproxy-diff.js';
import { parseCrtList } from '../haproxy-runtime.js';
import type { TlsModel } from '../model.js';
import type { CertMaterial } from '../vault.js';

const files = tlsFiles('/lb');
const material = (name: string, version: string): CertMaterial => ({ name, pem: `PEM of ${name} ${version}`, version });
const defaultMaterial = { pem: 'SELF SIGNED', version: 'd1' };

function model(hosts: Array<[string, string, Partial<{ redirect: boolean; hstsSeconds: number }>?]>): TlsModel {
  return { certs: [], wanted: [], hosts: hosts.map(([host, cert, extra]) => ({ host, cert, owner: `services/${cert}`, redirect: false, ...extra })) };
}

function plan(hosts: Parameters<typeof model>[0], materials: CertMaterial[]): TlsDesired {
  return desiredTls(model(hosts), new Map(materials.map((m) => [m.name, m])), defaultMaterial, files, '127.0.0.1:8443');
}

describe('HAProxy TLS desired state', () => {
  it('the default first (a name nobody asks for), then each served certificate with its hosts as SNI filters', () => {
    const desired = plan(
      [
        ['a.test', 'wild', { redirect: true }],
        ['b.test', 'wild', { hstsSeconds: 60 }],
        ['c.test', 'c'],
        ['d.test', 'no-key'],
      ],
      [material('wild', 'v1'), material('c', 'v1')],
    );
    expect(renderCrtList(desired)).toBe('/lb/certs/_default.pem fabric-default.invalid\n/lb/certs/c.pem c.test\n/lb/certs/wild.pem a.test b.test\n');
    expect(desired.hostsMap).toEqual([
      ['a.test', 'wild'],
      ['b.test', 'wild'],
      ['c.test', 'c'],
    ]);
    expect(desired.redirectMap).toEqual([['a.test', '1']]);
    expect(desired.hstsMap).toEqual([['b.test', '60']]);
    // A certificate without material (its key does not decrypt) is not deployed: d.test falls to the default.
    expect(desired.entries.map((e) => e.cert)).toEqual(['', 'c', 'wild']);
    expect(JSON.stringify(desired)).not.toContain('PEM of');
  });
});

describe('HAProxy TLS diff', () => {
  const before = plan(
    [
      ['a.test', 'a'],
      ['b.test', 'b'],
    ],
    [material('a', 'v1'), material('b', 'v1')],
  );

  it('new, renewed, re-targeted and removed certificates: adds and updates first, deletes last', () => {
    const after = plan(
      [
        ['a.test', 'a'],
        ['a2.test', 'a'],
        ['c.test', 'c'],
      ],
      [material('a', 'v2'), material('c', 'v1')],
    );
    expect(tlsOps(before, after).map((op) => `${op.kind} ${op.file.replace('/lb/certs/', '')}`)).toEqual([
      'cert-set a.pem',
      'cert-sni a.pem',
      'cert-new c.pem',
      'cert-del b.pem',
    ]);
    expect(tlsOps(before, after).find((op) => op.kind === 'cert-sni')).toMatchObject({ sni: ['a.test', 'a2.test'] });
    expect(tlsMapChanges(before, after).map((c) => c.map)).toEqual(['tlsHosts']);
    expect(tlsStructuralChange(before, after)).toBeUndefined();
  });

  it('nothing for the same plan; a reload only when the HTTPS bind comes, goes or moves', () => {
    const same = plan(
      [
        ['a.test', 'a'],
        ['b.test', 'b'],
      ],
      [material('a', 'v1'), material('b', 'v1')],
    );
    expect(tlsOps(before, same)).toEqual([]);
    expect(tlsMapChanges(before, same)).toEqual([]);
    expect(tlsStructuralChange(undefined, same)).toBe('HTTPS frontend added');
    expect(tlsStructuralChange(same, undefined)).toBe('HTTPS frontend removed');
    expect(tlsStructuralChange(same, { ...same, bind: '127.0.0.1:9443' })).toMatch(/9443/);
  });

  it('an adopted HAProxy: its crt-list read back, every certificate sent again (versions unknown), no reload', () => {
    const text = '# /lb/certs/crt-list.txt\n/lb/certs/_default.pem:1 fabric-default.invalid\n/lb/certs/a.pem:2 a.test\n/lb/certs/b.pem:5 b.test\n';
    expect(parseCrtList(text)).toEqual([
      { file: '/lb/certs/_default.pem', line: 1, sni: ['fabric-default.invalid'] },
      { file: '/lb/certs/a.pem', line: 2, sni: ['a.test'] },
      { file: '/lb/certs/b.pem', line: 5, sni: ['b.test'] },
    ]);
    const running = runningTls(
      { bind: before.bind, crtList: before.crtList },
      { crtList: parseCrtList(text), hostsMap: before.hostsMap, redirectMap: [], hstsMap: [] },
    )!;
    expect(tlsStructuralChange(running, before)).toBeUndefined();
    expect(tlsOps(running, before).map((op) => op.kind)).toEqual(['cert-set', 'cert-set', 'cert-set']);
  });
});
