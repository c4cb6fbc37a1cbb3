import { describe, expect, it } from 'vitest';
import { buildModel } from '../model.js';
import { decodeEntry, KeyStore } from '../store.js';
import { ep } from './fixtures.js';

const e1 = ep('web', 'w1');
const newKey = `hosts/h1/endpoints/web/${e1.container}`;
const oldKey = `endpoints/web/h1/${e1.container}`;
const put = (key: string, value: unknown) => ({ type: 'put' as const, key, value: JSON.stringify(value), createRevision: 1 });
const del = (key: string) => ({ type: 'delete' as const, key, value: '', createRevision: 0 });

describe('both key layouts in the model', () => {
  it('counts an endpoint held under both keys once, and the host-scoped value wins', () => {
    const model = buildModel([decodeEntry(oldKey, JSON.stringify({ ...e1, port: 1 }), 1), decodeEntry(newKey, JSON.stringify(e1), 2)], 2, {
      domain: 'apps.test',
    });
    expect(model.services[0]!.endpoints).toHaveLength(1);
    expect(model.services[0]!.endpoints[0]!.port).toBe(e1.port);
  });

  it('still serves an endpoint deleted in one layout while the other holds it', () => {
    const store = new KeyStore();
    store.reset([put(oldKey, e1), put(newKey, e1)], 1);
    store.apply([del(newKey)], 2);
    expect(buildModel(store.values(), 2, { domain: 'apps.test' }).services[0]!.endpoints.map((e) => e.name)).toEqual(['w1']);
    store.apply([put(newKey, e1)], 3);
    store.apply([del(oldKey)], 4);
    expect(buildModel(store.values(), 4, { domain: 'apps.test' }).services[0]!.endpoints.map((e) => e.name)).toEqual(['w1']);
  });

  it('gives the same model whichever layout the agents write', () => {
    const endpoints = [ep('web', 'w1'), ep('web', 'w2', { host: 'h2' }), ep('api', 'a1', { host: 'h2' })];
    const host = (name: string) => ({
      name,
      address: '10.0.0.1',
      agentVersion: '0.1.0',
      started: '2026-01-01T00:00:00.000Z',
      rejected: [{ container: 'abcdef012345', name: 'bad', reason: 'no port' }],
    });
    const older = [
      ...endpoints.map((e) => decodeEntry(`endpoints/${e.service}/${e.host}/${e.container}`, JSON.stringify(e), 1)),
      ...['h1', 'h2'].map((h) => decodeEntry(`hosts/${h}`, JSON.stringify(host(h)), 1)),
    ];
    const newer = [
      ...endpoints.map((e) => decodeEntry(`hosts/${e.host}/endpoints/${e.service}/${e.container}`, JSON.stringify(e), 1)),
      ...['h1', 'h2'].map((h) => decodeEntry(`hosts/${h}/info`, JSON.stringify(host(h)), 1)),
    ];
    const a = buildModel(older, 1, { domain: 'apps.test' });
    expect(buildModel(newer, 1, { domain: 'apps.test' })).toEqual(a);
    expect(buildModel([...older, ...newer], 1, { domain: 'apps.test' })).toEqual(a);
    expect(a.issues.filter((i) => i.code === 'FABRIC_ERR_LABEL')).toHaveLength(2);
  });

  it('refuses endpoints from hosts outside a spec’s hosts or pools, reports them, and serves the rest', () => {
    const hostRecord = (name: string, pool?: string) =>
      decodeEntry(
        `hosts/${name}/info`,
        JSON.stringify({ name, address: '10.0.0.1', agentVersion: '0.1.0', started: '2026-01-01T00:00:00.000Z', ...(pool ? { pool } : {}) }),
        1,
      );
    const a = ep('web', 'a1', { host: 'hostA', domains: ['taken.example'] });
    const b = ep('web', 'b1', { host: 'hostB' });
    const entries = (spec: object) => [
      decodeEntry('services/web', JSON.stringify({ name: 'web', ...spec }), 1),
      decodeEntry(`hosts/hostA/endpoints/web/${a.container}`, JSON.stringify(a), 1),
      decodeEntry(`hosts/hostB/endpoints/web/${b.container}`, JSON.stringify(b), 1),
      hostRecord('hostA', 'red'),
      hostRecord('hostB', 'blue'),
    ];
    for (const spec of [{ hosts: ['hostB'] }, { pools: ['blue'] }, { hosts: ['host*B'] }]) {
      const model = buildModel(entries(spec), 1, { domain: 'apps.test' });
      expect(
        model.services[0]!.endpoints.map((e) => e.name),
        JSON.stringify(spec),
      ).toEqual(['b1']);
      // A refused endpoint claims nothing either.
      expect(model.hostRules.map((r) => r.host)).not.toContain('taken.example');
      expect(model.issues).toEqual([
        expect.objectContaining({
          code: 'FABRIC_ERR_NOT_ALLOWED',
          subject: 'services/web',
          container: expect.objectContaining({ host: 'hostA', id: a.container, name: 'a1' }),
        }),
      ]);
    }
    // Without hosts/pools every host serves, as before.
    expect(buildModel(entries({}), 1, { domain: 'apps.test' }).services[0]!.endpoints).toHaveLength(2);
  });
});
