import { describe, expect, it } from 'vitest';
import { endpointIdentity, Keys, parseEndpointKey, parseHostKey } from '../keyspace.js';
import { decodeEntry } from '../model/entry.js';

const ID = 'abcdef0123456789';
const endpoint = (host: string) => ({
  service: 'web',
  host,
  container: ID,
  name: 'web-1',
  address: '10.0.0.1',
  port: 8080,
  weight: 100,
  mode: 'http',
  domains: [],
  health: 'none',
  state: 'up',
});
const host = (name: string) => ({ name, address: '10.0.0.1', agentVersion: '0.1.0', started: '2026-01-01T00:00:00.000Z', pool: 'blue' });

describe('key codec: both layouts', () => {
  it('writes host-scoped keys and reads both layouts back to the same parts', () => {
    expect(Keys.endpoint('web', 'node-1', ID)).toBe(`hosts/node-1/endpoints/web/${ID}`);
    expect(Keys.hostInfo('node-1')).toBe('hosts/node-1/info');
    expect(Keys.hostRoot('node-1')).toBe('hosts/node-1/');
    expect(parseEndpointKey(Keys.endpoint('web', 'node-1', ID))).toEqual({ service: 'web', host: 'node-1', container: ID, layout: 'host' });
    expect(parseEndpointKey(Keys.legacyEndpoint('web', 'node-1', ID))).toEqual({ service: 'web', host: 'node-1', container: ID, layout: 'legacy' });
    expect(parseHostKey('hosts/node-1/info')).toEqual({ host: 'node-1', layout: 'host' });
    expect(parseHostKey('hosts/node-1')).toEqual({ host: 'node-1', layout: 'legacy' });
    expect(endpointIdentity({ service: 'web', host: 'node-1', container: ID })).toBe(`web/node-1/${ID}`);
  });

  it('refuses keys of neither shape', () => {
    for (const key of [
      'endpoints/web/node-1',
      'endpoints/web//x',
      'hosts/node-1/endpoints/web',
      'hosts//endpoints/web/x',
      'hosts/n/other/web/x',
      'services/web',
    ]) {
      expect(parseEndpointKey(key), key).toBeUndefined();
    }
    for (const key of ['hosts/', 'hosts//info', 'hosts/node-1/other', 'hosts/node-1/xinfo', 'hosts/node-1/info/x', 'services/web'])
      expect(parseHostKey(key), key).toBeUndefined();
  });

  it('decodes an endpoint and a host record from either layout; the key must match the value', () => {
    for (const key of [Keys.endpoint('web', 'node-1', ID), Keys.legacyEndpoint('web', 'node-1', ID)]) {
      const entry = decodeEntry(key, JSON.stringify(endpoint('node-1')), 1);
      expect(entry.kind, key).toBe('endpoint');
      // A value under another host's key (either layout) is never served as that host's.
      expect(decodeEntry(key, JSON.stringify(endpoint('node-2')), 1)).toMatchObject({ kind: 'invalid', error: expect.stringMatching(/does not match/) });
    }
    for (const key of ['hosts/node-1/info', 'hosts/node-1']) {
      expect(decodeEntry(key, JSON.stringify(host('node-1')), 1)).toMatchObject({ kind: 'host', host: { name: 'node-1', pool: 'blue' } });
      expect(decodeEntry(key, JSON.stringify(host('node-2')), 1).kind).toBe('invalid');
    }
    // Malformed keys below a host's endpoints are reported, not ignored.
    expect(decodeEntry('hosts/node-1/endpoints/web', JSON.stringify(endpoint('node-1')), 1).kind).toBe('invalid');
    expect(decodeEntry('hosts/node-1/other', 'x', 1).kind).toBe('other');
  });
});
