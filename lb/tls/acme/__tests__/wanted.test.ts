import { describe, expect, it } from 'vitest';
import { endpointEntry, ep, modelOf, specEntry } from '../../../__tests__/fixtures.js';
import { decodeEntry, type Entry } from '../../../store.js';
import { renewAt } from '../schedule.js';
import { acmeWanted, covers } from '../wanted.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const day = 86_400_000;

/** A certificate record as the store holds it (only what ACME reads matters; the rest just has to decode). */
function cert(name: string, domains: string[], opts: { from?: number; to?: number; source?: 'acme' | 'manual' } = {}): Entry {
  const value = {
    version: 1,
    name,
    domains,
    chain: 'x',
    key: { alg: 'aes-256-gcm', keyId: '0123456789abcdef', iv: 'AA==', tag: 'AA==', data: 'AA==' },
    notBefore: new Date(opts.from ?? NOW - 10 * day).toISOString(),
    notAfter: new Date(opts.to ?? NOW + 80 * day).toISOString(),
    issuer: 'CN=test',
    subject: `CN=${domains[0]}`,
    fingerprint: Array(32).fill('AB').join(':'),
    source: opts.source ?? 'acme',
    updatedAt: new Date(NOW).toISOString(),
  };
  return decodeEntry(`certs/${name}`, JSON.stringify(value), 1);
}

function routeEntry(spec: Record<string, unknown>): Entry {
  return decodeEntry(`routes/${String(spec.name)}`, JSON.stringify(spec), 5);
}

const wanted = (entries: Entry[], tlsDefault: 'none' | 'auto' = 'none', now = NOW) => acmeWanted(modelOf(entries), { default: tlsDefault, now });

describe('acmeWanted: which hosts get an ACME certificate', () => {
  it.each([
    ['a spec saying auto', [specEntry({ name: 'web', tls: { cert: 'auto' } }), endpointEntry(ep('web', 'a'))], 'none', ['web.apps.test']],
    ['the fabric.tls label', [endpointEntry(ep('web', 'a', { tls: 'auto' }))], 'none', ['web.apps.test']],
    ['the router default', [endpointEntry(ep('web', 'a'))], 'auto', ['web.apps.test']],
    ['nothing asking', [endpointEntry(ep('web', 'a'))], 'none', []],
    ['a spec saying none over the default', [specEntry({ name: 'web', tls: { cert: 'none' } }), endpointEntry(ep('web', 'a'))], 'auto', []],
    ['a spec naming a stored certificate', [specEntry({ name: 'web', tls: { cert: 'my-cert' } }), endpointEntry(ep('web', 'a'))], 'auto', []],
    ['the spec over the label', [specEntry({ name: 'web', tls: { cert: 'none' } }), endpointEntry(ep('web', 'a', { tls: 'auto' }))], 'none', []],
    ['a TCP service (not on the HTTP frontend)', [endpointEntry(ep('db', 'a', { mode: 'tcp', tls: 'auto' }))], 'none', []],
  ] as const)('%s', (_what, entries, tlsDefault, hosts) => {
    expect(wanted([...entries], tlsDefault).map((w) => w.domains[0])).toEqual(hosts);
  });

  it('one certificate per host, named auto-<host>, for every domain the service won', () => {
    const wants = wanted([specEntry({ name: 'web', domains: ['www.example.com'], tls: { cert: 'auto' } }), endpointEntry(ep('web', 'a'))]);
    expect(wants).toEqual([
      { name: 'auto-web.apps.test', domains: ['web.apps.test'], reason: 'missing' },
      { name: 'auto-www.example.com', domains: ['www.example.com'], reason: 'missing' },
    ]);
  });

  it('only domains the service owns: a label claiming a domain another service’s spec won orders nothing for it', () => {
    const entries = [
      specEntry({ name: 'shop', domains: ['shop.example.com'] }, 1),
      endpointEntry(ep('shop', 's')),
      endpointEntry(ep('thief', 't', { domains: ['shop.example.com'], tls: 'auto' }), 2),
    ];
    expect(wanted(entries).map((w) => w.domains[0])).toEqual(['thief.apps.test']);
  });

  it('a Route’s host follows the route’s tls, not its backends’', () => {
    const entries = [
      endpointEntry(ep('web', 'a', { tls: 'auto' })),
      routeEntry({ name: 'canary', host: 'canary.example.com', backends: [{ service: 'web', weight: 1 }] }),
      routeEntry({ name: 'shop', host: 'shop.example.com', tls: { cert: 'auto' }, backends: [{ service: 'web', weight: 1 }] }),
    ];
    expect(wanted(entries).map((w) => w.domains[0])).toEqual(['shop.example.com', 'web.apps.test']);
  });

  it('a valid stored certificate covering the host (its own, an imported one, a wildcard) means nothing to order', () => {
    const base = [specEntry({ name: 'web', tls: { cert: 'auto' } }), endpointEntry(ep('web', 'a'))];
    expect(wanted([...base, cert('auto-web.apps.test', ['web.apps.test'])])).toEqual([]);
    expect(wanted([...base, cert('imported', ['web.apps.test'], { source: 'manual' })])).toEqual([]);
    expect(wanted([...base, cert('wild', ['*.apps.test'], { source: 'manual' })])).toEqual([]);
    // Expired, or for another host: ordered.
    expect(wanted([...base, cert('imported', ['web.apps.test'], { source: 'manual', to: NOW - 1 })])).toHaveLength(1);
    expect(wanted([...base, cert('wild', ['*.example.com'], { source: 'manual' })])).toHaveLength(1);
  });

  it('renewal: due at two thirds of the lifetime (minus a jitter), asked for by acme/renew/<name>, or expired', () => {
    const base = [specEntry({ name: 'web', tls: { cert: 'auto' } }), endpointEntry(ep('web', 'a'))];
    const from = NOW - 60 * day;
    const own = cert('auto-web.apps.test', ['web.apps.test'], { from, to: from + 90 * day });
    const due = renewAt({ name: 'auto-web.apps.test', notBefore: new Date(from).toISOString(), notAfter: new Date(from + 90 * day).toISOString() });
    expect(due).toBeLessThanOrEqual(from + 60 * day);
    expect(due).toBeGreaterThan(from + 57 * day);
    expect(wanted([...base, own], 'none', due - 1)).toEqual([]);
    expect(wanted([...base, own], 'none', due)[0]?.reason).toBe('renewal due');
    const asked = decodeEntry('acme/renew/auto-web.apps.test', '2026-06-01T00:00:00Z', 1);
    expect(wanted([...base, own, asked], 'none', from + day)[0]?.reason).toBe('renewal asked');
    expect(wanted([...base, own], 'none', from + 91 * day)[0]?.reason).toBe('expired');
  });

  it('covers: exact names, and wildcards one label deep only', () => {
    expect(covers({ domains: ['*.apps.test'] }, 'web.apps.test')).toBe(true);
    expect(covers({ domains: ['*.apps.test'] }, 'a.web.apps.test')).toBe(false);
    expect(covers({ domains: ['*.apps.test'] }, 'apps.test')).toBe(false);
    expect(covers({ domains: ['web.apps.test'] }, 'web.apps.test')).toBe(true);
  });
});
