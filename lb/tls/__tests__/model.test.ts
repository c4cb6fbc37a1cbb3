import { describe, expect, it } from 'vitest';
import { endpointEntry, ep, specEntry } from '../../__tests__/fixtures.js';
import { buildModel, type Model } from '../../model.js';
import { decodeEntry, type Entry } from '../../store.js';
import type { TlsOptions } from '../model.js';

/** A stored certificate record (syntactically what the store holds; no real key needed by the model). */
function certEntry(name: string, domains: string[], notAfter = '2030-01-01T00:00:00.000Z'): Entry {
  const record = {
    version: 1,
    name,
    domains,
    chain: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----',
    key: { alg: 'aes-256-gcm', keyId: '0123456789abcdef', iv: 'AAAAAAAAAAAAAAAA', tag: 'AAAAAAAAAAAAAAAAAAAAAA==', data: 'AA==' },
    notBefore: '2024-01-01T00:00:00.000Z',
    notAfter,
    issuer: 'CN=test',
    subject: `CN=${domains[0]}`,
    fingerprint: Array.from({ length: 32 }, () => 'AB').join(':'),
    source: 'manual',
    updatedAt: '2024-01-01T00:00:00.000Z',
  };
  const entry = decodeEntry(`certs/${name}`, JSON.stringify(record), 5);
  if (entry.kind !== 'cert') throw new Error(`fixture does not decode: ${JSON.stringify(entry)}`);
  return entry;
}

function routeEntry(spec: Record<string, unknown>, createRevision = 1): Entry {
  return decodeEntry(`routes/${String(spec.name)}`, JSON.stringify(spec), createRevision);
}

function model(entries: Entry[], tls?: TlsOptions): Model {
  return buildModel(entries, 10, { domain: 'apps.test', tls });
}

const served = (m: Model) => Object.fromEntries((m.tls?.hosts ?? []).map((h) => [h.host, h.cert]));
const tlsIssues = (m: Model) => m.issues.filter((i) => /certificate|tls/.test(i.message));

describe('host → certificate', () => {
  it('a Service naming a certificate gets it on every host it won that the certificate covers', () => {
    const m = model([
      specEntry({ name: 'web', domains: ['www.example.com'], tls: { cert: 'wild' } }),
      endpointEntry(ep('web', 'w1')),
      certEntry('wild', ['*.example.com', 'web.apps.test']),
    ]);
    expect(served(m)).toEqual({ 'web.apps.test': 'wild', 'www.example.com': 'wild' });
    expect(m.tls?.wanted).toEqual([]);
  });

  it('auto: an exact name before a wildcard, then the one valid longest; hosts with none are wanted', () => {
    const m = model([
      specEntry({ name: 'web', domains: ['www.example.com', 'api.example.com', 'other.test'], tls: { cert: 'auto' } }),
      certEntry('wild-old', ['*.example.com'], '2027-01-01T00:00:00.000Z'),
      certEntry('wild-new', ['*.example.com'], '2029-01-01T00:00:00.000Z'),
      certEntry('www', ['www.example.com'], '2026-06-01T00:00:00.000Z'),
    ]);
    expect(served(m)).toEqual({ 'api.example.com': 'wild-new', 'www.example.com': 'www' });
    expect(m.tls?.wanted).toEqual([
      { host: 'other.test', owner: 'services/web' },
      { host: 'web.apps.test', owner: 'services/web' },
    ]);
  });

  it('the label fabric.tls, the router default, and none', () => {
    const entries = [
      endpointEntry(ep('labelled', 'l1', { tls: 'mine' })),
      endpointEntry(ep('plain', 'p1')),
      specEntry({ name: 'off', tls: { cert: 'none' } }),
      certEntry('mine', ['labelled.apps.test']),
      certEntry('apps', ['*.apps.test']),
    ];
    expect(served(model(entries))).toEqual({ 'labelled.apps.test': 'mine' });
    expect(served(model(entries, { default: 'auto' }))).toEqual({ 'labelled.apps.test': 'mine', 'plain.apps.test': 'apps' });
  });

  it('redirect and HSTS come with the certificate, in seconds', () => {
    const m = model([specEntry({ name: 'web', tls: { cert: 'w', redirect: true, hsts: '180d' } }), certEntry('w', ['web.apps.test'])]);
    expect(m.tls?.hosts).toEqual([{ host: 'web.apps.test', cert: 'w', owner: 'services/web', redirect: true, hstsSeconds: 180 * 86_400 }]);
  });

  it("a Route's host follows the Route's tls, else its first backend service's", () => {
    const entries = [
      specEntry({ name: 'web', domains: ['www.example.com'], tls: { cert: 'w' } }),
      routeEntry({ name: 'canary', host: 'www.example.com', backends: [{ service: 'web', weight: 1 }] }),
      certEntry('w', ['www.example.com', 'web.apps.test']),
      certEntry('r', ['www.example.com']),
    ];
    expect(served(model(entries))['www.example.com']).toBe('w');
    const own = [
      ...entries.slice(0, 1),
      routeEntry({ name: 'canary', host: 'www.example.com', backends: [{ service: 'web', weight: 1 }], tls: { cert: 'r' } }),
    ];
    expect(served(model([...own, ...entries.slice(2)]))['www.example.com']).toBe('r');
  });

  it('certificates that do not exist, or do not cover the host, are not served and are reported', () => {
    const m = model([specEntry({ name: 'a', tls: { cert: 'missing' } }), specEntry({ name: 'b', tls: { cert: 'acert' } }), certEntry('acert', ['www.a.test'])]);
    expect(served(m)).toEqual({});
    expect(tlsIssues(m)).toEqual([
      { code: 'FABRIC_ERR_NOT_FOUND', subject: 'services/a', message: expect.stringMatching(/^a\.apps\.test: certificate missing does not exist/) },
      { code: 'FABRIC_ERR_CERT', subject: 'services/b', message: 'b.apps.test: certificate acert (www.a.test) does not cover it; not served over HTTPS' },
    ]);
  });

  it('a label cannot attach a certificate to a domain another service owns: refused, reported, not served', () => {
    const m = model([
      specEntry({ name: 'a', domains: ['www.a.test'] }, 2),
      endpointEntry(ep('b', 'b1', { domains: ['www.a.test'], tls: 'acert' }), 3),
      certEntry('acert', ['www.a.test']),
    ]);
    expect(served(m)['www.a.test']).toBeUndefined();
    expect(m.issues).toContainEqual({
      code: 'FABRIC_ERR_CONFLICT',
      subject: 'services/b',
      message: 'www.a.test: certificate acert is not attached to it: the domain belongs to services/a',
    });
    // …nor obtain one: b's refused claim is not wanted either.
    const auto = model([specEntry({ name: 'a', domains: ['www.a.test'] }, 2), endpointEntry(ep('b', 'b2', { domains: ['www.a.test'], tls: 'auto' }), 3)]);
    expect(auto.tls?.wanted.map((w) => w.host)).toEqual(['b.apps.test']);
  });

  it("a host's TLS follows the owner of its root; a path owner that says otherwise is told", () => {
    const m = model([
      endpointEntry(ep('site', 's1', { domains: ['shop.test'], tls: 'shop' })),
      endpointEntry(ep('api', 'a1', { domains: ['shop.test'], path: '/api', tls: 'none' })),
      certEntry('shop', ['shop.test']),
    ]);
    expect(served(m)['shop.test']).toBe('shop');
    expect(m.issues).toContainEqual(
      expect.objectContaining({ code: 'FABRIC_ERR_CONFLICT', subject: 'services/api', message: expect.stringMatching(/follows services\/site/) }),
    );
  });

  it('endpoints that disagree on fabric.tls are reported; the first (by key) wins', () => {
    const m = model([endpointEntry(ep('web', 'w1', { tls: 'one' })), endpointEntry(ep('web', 'w2', { tls: 'two' })), certEntry('one', ['web.apps.test'])]);
    expect(m.issues).toContainEqual(expect.objectContaining({ code: 'FABRIC_ERR_CONFLICT', message: expect.stringMatching(/disagree on fabric.tls/) }));
    expect(Object.keys(served(m))).toEqual(['web.apps.test']);
  });

  it('the default certificate: named when stored, reported when not', () => {
    expect(model([certEntry('d', ['x.test'])], { default: 'none', defaultCert: 'd' }).tls?.defaultCert).toBe('d');
    const missing = model([], { default: 'none', defaultCert: 'd' });
    expect(missing.tls?.defaultCert).toBeUndefined();
    expect(missing.issues).toContainEqual(expect.objectContaining({ code: 'FABRIC_ERR_NOT_FOUND', subject: 'router' }));
  });

  it('tcp services and services without hosts get nothing', () => {
    const m = model([endpointEntry(ep('db', 'd1', { mode: 'tcp', tls: 'auto' })), certEntry('apps', ['*.apps.test'])], { default: 'auto' });
    expect(m.tls).toMatchObject({ hosts: [], wanted: [] });
  });
});
