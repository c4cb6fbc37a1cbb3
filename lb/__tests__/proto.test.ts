// `proto: h2c` (src/model/proto.ts): the grammar, which targets serve it, HAProxy's backends and checks.
import http2 from 'node:http2';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { unsupportedPolicyErrors } from '../../src/ctl/policy-targets.js';
import { unsupportedPolicies } from '../../src/model/policy/capabilities.js';
import { serviceSpecSchema } from '../../src/model/service.js';
import { desiredHaproxy } from '../haproxy/desired.js';
import { diffHaproxy } from '../haproxy/diff.js';
import { planPool } from '../haproxy/spares.js';
import { h2Probe, httpProbe } from '../health/probe.js';
import { type CheckSpec, DEFAULT_CHECK, probeTarget, resolveCheck } from '../health/spec.js';
import { endpointEntry, ep, modelOf, specEntry } from './fixtures.js';

describe('proto grammar', () => {
  it('takes http1 and h2c on HTTP services; refuses other values and proto on a TCP service', () => {
    expect(serviceSpecSchema.safeParse({ name: 'g', proto: 'h2c' }).success).toBe(true);
    expect(serviceSpecSchema.safeParse({ name: 'g', mode: 'http', proto: 'http1' }).success).toBe(true);
    expect(serviceSpecSchema.safeParse({ name: 'g', proto: 'h2' }).success).toBe(false);
    const tcp = serviceSpecSchema.safeParse({ name: 'g', mode: 'tcp', proto: 'h2c' });
    expect(tcp.success).toBe(false);
    expect(tcp.error?.issues[0]?.path).toEqual(['proto']);
  });
});

describe('proto capabilities', () => {
  it('only HAProxy serves h2c; nginx, file and an SLB of the service say they cannot', () => {
    const spec = { proto: 'h2c' };
    expect(unsupportedPolicies('haproxy', undefined, spec)).toEqual([]);
    expect(unsupportedPolicies('nginx', undefined, spec)[0]?.policy).toBe('proto');
    expect(unsupportedPolicies('nginx', undefined, spec)[0]?.reason).toMatch(/grpc_pass/);
    expect(unsupportedPolicies('file', undefined, spec).map((u) => u.policy)).toEqual(['proto']);
    expect(unsupportedPolicies('slb', undefined, spec)).toEqual([]);
    expect(unsupportedPolicies('slb', undefined, { ...spec, slb: 'lb-1' }).map((u) => u.policy)).toEqual(['proto']);
    expect(unsupportedPolicies('nginx', undefined, { proto: 'http1' })).toEqual([]);
  });

  it('fabric apply refuses an h2c service, with no policy, where an nginx target runs', () => {
    const origin = { source: 'g.yaml', index: 1, line: 1 };
    const resources = [{ kind: 'Service' as const, name: 'g', spec: serviceSpecSchema.parse({ name: 'g', proto: 'h2c' }), origin }];
    const errors = unsupportedPolicyErrors(resources, [{ routerId: 'r1', targets: [{ name: 'edge', kind: 'nginx' }] }]);
    expect(errors.map((e) => [e.label, e.field])).toEqual([['Service g', 'proto']]);
    expect(unsupportedPolicyErrors(resources, [{ routerId: 'r1', targets: [{ name: 'h', kind: 'haproxy' }] }])).toEqual([]);
  });
});

describe('HAProxy h2c backends', () => {
  const h2c = specEntry({ kind: 'Service', name: 'g', proto: 'h2c' });

  it('an h2c service gets proto h2 servers; turning it on or off reloads', () => {
    const plain = desiredHaproxy(modelOf([specEntry({ kind: 'Service', name: 'g' }), endpointEntry(ep('g', 'a'))]), new Map());
    const grpc = desiredHaproxy(modelOf([h2c, endpointEntry(ep('g', 'a'))]), plain.slots);
    expect(grpc.desired.backends[0]?.proto).toBe('h2');
    expect(plain.desired.backends[0]?.proto).toBeUndefined();
    expect(diffHaproxy(plain.desired, grpc.desired)).toEqual({ kind: 'reload', reason: 'backend svc_g proto changed' });
  });

  it('no spare is laid out for h2: a new h2c service takes its own backend through a reload, never an HTTP/1.1 spare', () => {
    const http = (name: string) => ({ name, mode: 'http' as const, balance: 'roundrobin' as const });
    const first = planPool(undefined, [http('a')], { spares: 2 }, false);
    const added = planPool(first.pool, [http('a'), { ...http('g'), proto: 'h2' as const }], { spares: 2 }, false);
    expect(added.compacted).toBe(true);
    expect(added.pool.entries.map((e) => [e.name, e.service, e.proto])).toEqual([
      ['svc_a', 'a', undefined],
      ['svc_g', 'g', 'h2'],
      ['spare_http_roundrobin_1', undefined, undefined],
      ['spare_http_roundrobin_2', undefined, undefined],
    ]);
    // Removed and re-added: it finds its own h2 backend again at run time.
    const removed = planPool(added.pool, [http('a')], { spares: 2 }, false);
    const back = planPool(removed.pool, [http('a'), { ...http('g'), proto: 'h2' as const }], { spares: 2 }, false);
    expect(back.compacted).toBe(false);
    expect(back.pool.entries[1]?.service).toBe('g');
  });
});

describe('router checks of h2c endpoints', () => {
  it('an HTTP check of an h2c endpoint GETs over HTTP/2; without a path it is a TCP connect', () => {
    const endpoint = ep('g', 'a');
    const spec = serviceSpecSchema.parse({ name: 'g', proto: 'h2c', healthCheck: { path: '/healthz' } });
    const check = resolveCheck(endpoint, spec, DEFAULT_CHECK)!;
    expect(check.h2).toBe(true);
    expect(probeTarget(check)).toMatch(/^h2c:\/\/.*\/healthz$/);
    const bare = resolveCheck(endpoint, serviceSpecSchema.parse({ name: 'g', proto: 'h2c' }), DEFAULT_CHECK)!;
    expect([bare.kind, bare.h2]).toEqual(['tcp', undefined]);
  });
});

describe('h2Probe', () => {
  it('GETs an h2c endpoint over HTTP/2 (prior knowledge): 2xx/3xx healthy, else not; the HTTP/1.1 probe fails it', async () => {
    const server = http2.createServer();
    server.on('stream', (stream, headers) => {
      stream.respond({ ':status': headers[':path'] === '/healthz' ? 200 : 503 });
      stream.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const spec = (path: string): CheckSpec => ({
      kind: 'http',
      h2: true,
      address: '127.0.0.1',
      port,
      path,
      intervalMs: 1000,
      timeoutMs: 1000,
      rise: 1,
      fall: 1,
      source: 'spec',
    });
    try {
      expect(await h2Probe(spec('/healthz'), new AbortController().signal)).toEqual({ ok: true });
      expect(await h2Probe(spec('/down'), new AbortController().signal)).toEqual({ ok: false, error: 'HTTP 503' });
      expect((await httpProbe(spec('/healthz'), new AbortController().signal)).ok).toBe(false);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect((await h2Probe(spec('/healthz'), new AbortController().signal)).ok).toBe(false);
  });
});
