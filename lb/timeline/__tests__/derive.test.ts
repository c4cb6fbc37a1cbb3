import { describe, expect, it } from 'vitest';
import { decodeEntry } from '../../../src/model/entry.js';
import type { HostRecord } from '../../../src/model/host.js';
import type { CertRecord } from '../../../src/tls/cert-record.js';
import { endpointEntry, ep } from '../../__tests__/fixtures.js';
import type { ApplyRecord } from '../../history.js';
import { applyEvent, certEvents, certFailedEvent, checkEvent, endpointEvents, etcdEvent, hostEvents, keyChangeEvents } from '../derive.js';

const key = (e: ReturnType<typeof ep>) => `${e.service}/${e.host}/${e.container}`;
const host: HostRecord = { name: 'h1', address: '10.0.0.1', agentVersion: '0.1.0', started: '2026-12-02T05:00:00.000Z' };

describe('endpoint transitions', () => {
  const up = ep('web', 'a');
  const cases: Array<{ name: string; before?: ReturnType<typeof ep>; after?: ReturnType<typeof ep>; kinds: string[] }> = [
    { name: 'new key', after: up, kinds: ['endpoint.registered'] },
    { name: 'gone', before: up, kinds: ['endpoint.removed'] },
    { name: 'up → draining', before: up, after: { ...up, state: 'draining' }, kinds: ['endpoint.draining'] },
    { name: 'draining → up', before: { ...up, state: 'draining' }, after: up, kinds: ['endpoint.registered'] },
    { name: 'weight only', before: up, after: { ...up, weight: 5 }, kinds: [] },
    { name: 'docker healthy → unhealthy', before: { ...up, health: 'healthy' }, after: { ...up, health: 'unhealthy' }, kinds: ['health.down'] },
    { name: 'starting → healthy', before: { ...up, health: 'starting' }, after: { ...up, health: 'healthy' }, kinds: ['health.up'] },
    { name: 'none → healthy (both serve)', before: up, after: { ...up, health: 'healthy' }, kinds: [] },
    {
      name: 'draining and unhealthy at once',
      before: { ...up, health: 'healthy' },
      after: { ...up, state: 'draining', health: 'unhealthy' },
      kinds: ['endpoint.draining', 'health.down'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const events = endpointEvents(c.before, c.after);
      expect(events.map((e) => e.kind)).toEqual(c.kinds);
      for (const e of events) expect(e).toMatchObject({ service: 'web', endpoint: key(up), host: 'h1' });
    });
  }

  it('reads entries: an endpoint key deleted is removed, other kinds of keys make nothing', () => {
    expect(keyChangeEvents(endpointEntry(up), undefined).map((e) => e.kind)).toEqual(['endpoint.removed']);
    const route = decodeEntry('routes/r', JSON.stringify({ name: 'r', host: 'x.test', backends: [{ service: 'web', weight: 1 }] }), 1);
    expect(keyChangeEvents(undefined, route)).toEqual([]);
  });
});

describe('host, apply, check and etcd events', () => {
  it('a host appears, restarts its agent, and goes', () => {
    expect(hostEvents(undefined, host).map((e) => e.kind)).toEqual(['host.up']);
    expect(hostEvents(host, { ...host, containers: { registered: 2, rejected: 0 } })).toEqual([]);
    expect(hostEvents(host, { ...host, started: '2026-12-02T06:00:00.000Z' }).map((e) => e.kind)).toEqual(['host.up']);
    expect(hostEvents(host, undefined)).toEqual([expect.objectContaining({ kind: 'host.down', host: 'h1' })]);
    const entry = decodeEntry('hosts/h1', JSON.stringify(host), 1);
    expect(keyChangeEvents(entry, undefined).map((e) => e.kind)).toEqual(['host.down']);
  });

  const record = (over: Partial<ApplyRecord>): ApplyRecord => ({
    applyId: 1,
    at: '2026-12-02T05:00:00.000Z',
    target: 'haproxy',
    revision: 7,
    result: 'ok',
    durationMs: 3,
    ...over,
  });
  const applies: Array<[Partial<ApplyRecord>, string | undefined]> = [
    [{ action: 'reload', detail: 'backend added' }, 'reload'],
    [{ action: 'start' }, 'reload'],
    [{ action: 'write' }, 'reload'],
    [{ action: 'runtime', detail: '2 servers' }, 'runtime'],
    [{ action: 'none' }, undefined],
    [{ result: 'failed', code: 'FABRIC_ERR_VALIDATE', message: 'haproxy -c: bad' }, 'validation.failed'],
    [{ result: 'failed', code: 'FABRIC_ERR_RELOAD', message: 'did not take' }, 'apply.failed'],
  ];
  for (const [over, kind] of applies) {
    it(`apply ${over.result ?? 'ok'} ${over.action ?? over.code} → ${kind ?? 'nothing'}`, () => {
      const event = applyEvent(record(over));
      expect(event?.kind).toBe(kind);
      if (event) expect(event).toMatchObject({ target: 'haproxy', detail: { revision: 7 } });
    });
  }

  it('an active check flip names the service, host and endpoint', () => {
    const e = ep('api', 'b');
    expect(checkEvent(key(e), { state: 'unhealthy', lastError: 'HTTP 500' })).toMatchObject({
      kind: 'health.down',
      service: 'api',
      host: 'h1',
      endpoint: key(e),
      message: expect.stringContaining('HTTP 500'),
    });
    expect(checkEvent(key(e), { state: 'healthy', lastError: undefined }).kind).toBe('health.up');
  });

  it('a certificate stored is issued, one replaced by another is renewed, the same one again is nothing', () => {
    const cert = {
      name: 'www',
      domains: ['www.example.com'],
      source: 'acme',
      notAfter: '2027-03-01T00:00:00.000Z',
      issuer: 'CN=ca',
      fingerprint: 'AA',
    } as CertRecord;
    expect(certEvents(undefined, cert)).toEqual([expect.objectContaining({ kind: 'cert.issued', detail: expect.objectContaining({ cert: 'www' }) })]);
    expect(certEvents(cert, { ...cert, fingerprint: 'BB', notAfter: '2027-06-01T00:00:00.000Z' }).map((e) => e.kind)).toEqual(['cert.renewed']);
    expect(certEvents(cert, { ...cert })).toEqual([]);
    expect(certEvents(cert, undefined)).toEqual([]);
    expect(certFailedEvent('www', ['www.example.com'], 'rate limited')).toMatchObject({
      kind: 'cert.failed',
      message: expect.stringContaining('rate limited'),
    });
  });

  it('etcd lost keeps the reason', () => {
    expect(etcdEvent('etcd.lost', 'connect ECONNREFUSED')).toMatchObject({ kind: 'etcd.lost', detail: { error: 'connect ECONNREFUSED' } });
    expect(etcdEvent('etcd.restored', undefined).kind).toBe('etcd.restored');
  });
});
