import { describe, expect, it } from 'vitest';
import { decodeEntry, type KeyChange, KeyStore } from '../store.js';
import { cid, ep } from './fixtures.js';

const good = ep('web', 'c1', { domains: ['WWW.Example.com'] });
const goodKey = `endpoints/web/h1/${good.container}`;

describe('decodeEntry', () => {
  const cases: Array<{ name: string; key: string; value: string; kind: string; error?: RegExp }> = [
    { name: 'an endpoint', key: goodKey, value: JSON.stringify(good), kind: 'endpoint' },
    { name: 'an endpoint that is not JSON', key: goodKey, value: '{"service":', kind: 'invalid', error: /not JSON/ },
    { name: 'an endpoint failing the schema', key: goodKey, value: JSON.stringify({ ...good, port: 70000 }), kind: 'invalid', error: /port/ },
    {
      name: 'an endpoint with a newline in a domain',
      key: goodKey,
      value: JSON.stringify({ ...good, domains: ['a.com\n  server evil 1.2.3.4:80'] }),
      kind: 'invalid',
      error: /domains/,
    },
    {
      name: 'an endpoint with a port in its address',
      key: goodKey,
      value: JSON.stringify({ ...good, address: '1.2.3.4:80' }),
      kind: 'invalid',
      error: /address/,
    },
    { name: 'an endpoint with a space in its path', key: goodKey, value: JSON.stringify({ ...good, path: '/a b' }), kind: 'invalid', error: /path/ },
    {
      name: 'an endpoint under another service’s key',
      key: `endpoints/api/h1/${good.container}`,
      value: JSON.stringify(good),
      kind: 'invalid',
      error: /does not match/,
    },
    {
      name: 'an endpoint under another container’s key',
      key: `endpoints/web/h1/${cid('other')}`,
      value: JSON.stringify(good),
      kind: 'invalid',
      error: /does not match/,
    },
    {
      name: 'an endpoint key with a missing segment',
      key: `endpoints/web/${good.container}`,
      value: JSON.stringify(good),
      kind: 'invalid',
      error: /does not match/,
    },
    { name: 'a service spec', key: 'services/web', value: JSON.stringify({ kind: 'Service', name: 'web', balance: 'leastconn' }), kind: 'service' },
    {
      name: 'a service spec under another name',
      key: 'services/api',
      value: JSON.stringify({ name: 'web' }),
      kind: 'invalid',
      error: /does not match the key/,
    },
    {
      name: 'a service spec with an unknown field',
      key: 'services/web',
      value: JSON.stringify({ name: 'web', backdoor: true }),
      kind: 'invalid',
      error: /backdoor|Unrecognized/i,
    },
    {
      name: 'a route',
      key: 'routes/canary',
      value: JSON.stringify({ name: 'canary', host: 'www.example.com', backends: [{ service: 'web', weight: 10 }] }),
      kind: 'route',
    },
    {
      name: 'a route without backends',
      key: 'routes/canary',
      value: JSON.stringify({ name: 'canary', host: 'www.example.com', backends: [] }),
      kind: 'invalid',
      error: /backends/,
    },
    {
      name: 'a host record',
      key: 'hosts/h1',
      value: JSON.stringify({ name: 'h1', address: '10.0.0.1', agentVersion: '0.1.0', started: '2026-01-01T00:00:00.000Z' }),
      kind: 'host',
    },
    { name: 'a host record that is not JSON', key: 'hosts/h1', value: 'whatever', kind: 'invalid', error: /not JSON/ },
    {
      name: 'a host record under another name',
      key: 'hosts/h1',
      value: JSON.stringify({ name: 'h2', address: '10.0.0.1', agentVersion: '0.1.0', started: '2026-01-01T00:00:00.000Z' }),
      kind: 'invalid',
      error: /does not match the key/,
    },
    { name: 'a key below a host', key: 'hosts/h1/other', value: 'whatever', kind: 'other' },
    { name: 'any other key', key: 'unrelated/h1', value: 'whatever', kind: 'other' },
  ];

  it.each(cases)('$name → $kind', ({ key, value, kind, error }) => {
    const entry = decodeEntry(key, value, 7);
    expect(entry).toMatchObject({ key, raw: value, createRevision: 7, kind });
    if (error) expect(entry.kind === 'invalid' && entry.error).toMatch(error);
  });

  it('normalizes what it accepts (domains to lower case)', () => {
    const entry = decodeEntry(goodKey, JSON.stringify(good), 1);
    expect(entry.kind === 'endpoint' && entry.endpoint.domains).toEqual(['www.example.com']);
  });
});

describe('KeyStore', () => {
  const put = (key: string, value: string, createRevision = 1): KeyChange => ({ type: 'put', key, value, createRevision });
  const del = (key: string): KeyChange => ({ type: 'delete', key, value: '', createRevision: 0 });

  it('reports only real changes and keeps the highest revision', () => {
    const store = new KeyStore();
    store.reset([put(goodKey, JSON.stringify(good)), put('hosts/h1', '{}')], 5);
    expect(store.size).toBe(2);
    expect(store.revision).toBe(5);
    expect(store.apply([put(goodKey, JSON.stringify(good))], 6)).toBe(false); // same bytes
    expect(store.apply([del('endpoints/none/h1/x')], 7)).toBe(false); // nothing to delete
    expect(store.revision).toBe(7);
    expect(store.apply([put(goodKey, JSON.stringify({ ...good, weight: 5 }))], 8)).toBe(true);
    expect(store.get(goodKey)).toMatchObject({ kind: 'endpoint', endpoint: { weight: 5 } });
    expect(store.apply([del('hosts/h1')], 9)).toBe(true);
    expect(store.apply([put('hosts/h1', '{}')], 4)).toBe(true);
    expect(store.revision).toBe(9); // an older revision never moves it back
  });

  it('keeps an undecodable value as invalid until it is fixed', () => {
    const store = new KeyStore();
    store.reset([put(goodKey, 'garbage')], 1);
    expect(store.get(goodKey)?.kind).toBe('invalid');
    store.apply([put(goodKey, JSON.stringify(good))], 2);
    expect(store.get(goodKey)?.kind).toBe('endpoint');
  });

  it("keeps the service names (their version) when a batch replaces a service's only endpoint", () => {
    const store = new KeyStore();
    const next = ep('web', 'c2');
    const nextKey = `endpoints/web/h1/${next.container}`;
    store.reset([put(goodKey, JSON.stringify(good))], 1);
    const before = store.grouped();
    const group = before.services.get('web');
    store.apply([del(goodKey), put(nextKey, JSON.stringify(next))], 2);
    const after = store.grouped();
    expect(after.namesVersion).toBe(before.namesVersion);
    // The same group, with a new generation: the service is derived again, the names are not sorted again.
    expect(after.services.get('web')).toBe(group);
    expect([...after.services.get('web')!.endpoints.keys()]).toEqual([nextKey]);
    store.apply([del(nextKey)], 3);
    expect(store.grouped().namesVersion).not.toBe(before.namesVersion);
    expect(store.grouped().services.has('web')).toBe(false);
  });

  it('forgets everything on reset (a re-list after compaction)', () => {
    const store = new KeyStore();
    store.reset([put(goodKey, JSON.stringify(good)), put('hosts/h1', '{}')], 3);
    store.reset([put('hosts/h2', '{}')], 10);
    expect([...store.values()].map((e) => e.key)).toEqual(['hosts/h2']);
    expect(store.revision).toBe(10);
  });
});
