import { describe, expect, it } from 'vitest';
import type { Backend, HaproxyDesired, ServerSlot } from '../haproxy/desired.js';
import { type Change, diffHaproxy } from '../haproxy/diff.js';

const EMPTY: Omit<ServerSlot, 'name'> = { endpoint: undefined, address: '127.0.0.1', port: 1, weight: 1, state: 'maint' };

function slot(name: string, fill?: Partial<ServerSlot> & { endpoint: string }): ServerSlot {
  return fill ? { name, address: '10.0.0.1', port: 8000, weight: 100, state: 'ready', ...fill } : { name, ...EMPTY };
}

function backend(name: string, servers: ServerSlot[], settings: Partial<Backend> = {}): Backend {
  return { name, service: name.replace(/^svc_/, ''), mode: 'http', balance: 'roundrobin', servers, ...settings };
}

function desired(backends: Backend[], hostMap: Array<[string, string]> = [], pathMap: Array<[string, string]> = []): HaproxyDesired {
  return { backends, hostMap, pathMap };
}

const a = { endpoint: 'h1/aaa' };
const b = { endpoint: 'h1/bbb' };
const base = desired([backend('svc_web', [slot('s1', a), slot('s2', { ...b, address: '10.0.0.2' }), slot('s3'), slot('s4')])], [['web.apps.test', 'svc_web']]);

/** `base` with slot `index` of the first backend replaced. */
function withSlot(index: number, server: ServerSlot, from: HaproxyDesired = base): HaproxyDesired {
  const servers = [...from.backends[0]!.servers];
  servers[index] = server;
  return { ...from, backends: [{ ...from.backends[0]!, servers }, ...from.backends.slice(1)] };
}

const cases: Array<{ name: string; before: HaproxyDesired | undefined; after: HaproxyDesired; change: Change }> = [
  { name: 'nothing applied yet → reload', before: undefined, after: base, change: { kind: 'reload', reason: 'first apply' } },
  { name: 'identical → nothing', before: base, after: structuredClone(base), change: { kind: 'none' } },
  {
    name: 'a backend more → reload',
    before: base,
    after: { ...base, backends: [...base.backends, backend('svc_x', [slot('s1')])] },
    change: { kind: 'reload', reason: 'backends 1 → 2' },
  },
  {
    name: 'a backend less → reload',
    before: base,
    after: { ...base, backends: [] },
    change: { kind: 'reload', reason: 'backends 1 → 0' },
  },
  {
    name: 'another backend in the same place → reload',
    before: base,
    after: { ...base, backends: [backend('svc_other', base.backends[0]!.servers)] },
    change: { kind: 'reload', reason: 'backend svc_web → svc_other' },
  },
  {
    name: 'balance changed → reload',
    before: base,
    after: { ...base, backends: [{ ...base.backends[0]!, balance: 'leastconn' }] },
    change: { kind: 'reload', reason: 'backend svc_web settings changed' },
  },
  {
    name: 'mode changed → reload',
    before: base,
    after: { ...base, backends: [{ ...base.backends[0]!, mode: 'tcp' }] },
    change: { kind: 'reload', reason: 'backend svc_web settings changed' },
  },
  {
    name: 'slots grew → reload',
    before: base,
    after: { ...base, backends: [{ ...base.backends[0]!, servers: [...base.backends[0]!.servers, slot('s5'), slot('s6'), slot('s7'), slot('s8')] }] },
    change: { kind: 'reload', reason: 'backend svc_web grew to 8 slots' },
  },
  {
    name: 'weight changed → set weight',
    before: base,
    after: withSlot(0, slot('s1', { ...a, weight: 50 })),
    change: { kind: 'runtime', ops: [{ kind: 'weight', backend: 'svc_web', server: 's1', weight: 50 }] },
  },
  {
    name: 'endpoint added in an empty slot → address, weight, ready',
    before: base,
    after: withSlot(2, slot('s3', { endpoint: 'h1/ccc', address: '10.0.0.3', port: 9000, weight: 7 })),
    change: {
      kind: 'runtime',
      ops: [
        { kind: 'addr', backend: 'svc_web', server: 's3', address: '10.0.0.3', port: 9000 },
        { kind: 'weight', backend: 'svc_web', server: 's3', weight: 7 },
        { kind: 'state', backend: 'svc_web', server: 's3', state: 'ready' },
      ],
    },
  },
  {
    name: 'endpoint added while unhealthy → address and weight, stays in maintenance',
    before: base,
    after: withSlot(2, slot('s3', { endpoint: 'h1/ccc', address: '10.0.0.3', state: 'maint' })),
    change: {
      kind: 'runtime',
      ops: [
        { kind: 'addr', backend: 'svc_web', server: 's3', address: '10.0.0.3', port: 8000 },
        { kind: 'weight', backend: 'svc_web', server: 's3', weight: 100 },
      ],
    },
  },
  {
    name: 'endpoint removed → maintenance (its address stays until the slot is reused)',
    before: base,
    after: withSlot(1, slot('s2')),
    change: { kind: 'runtime', ops: [{ kind: 'state', backend: 'svc_web', server: 's2', state: 'maint' }] },
  },
  {
    name: 'an endpoint already in maintenance removed → nothing to do',
    before: withSlot(1, slot('s2', { ...b, state: 'maint' })),
    after: withSlot(1, slot('s2')),
    change: { kind: 'none' },
  },
  {
    name: 'draining → weight resent, drain',
    before: base,
    after: withSlot(0, slot('s1', { ...a, state: 'drain' })),
    change: {
      kind: 'runtime',
      ops: [
        { kind: 'weight', backend: 'svc_web', server: 's1', weight: 100 },
        { kind: 'state', backend: 'svc_web', server: 's1', state: 'drain' },
      ],
    },
  },
  {
    // After a reload a drained server runs at weight 0 (the template's way to drain), so coming
    // back must set the weight again, not only the state.
    name: 'drained back to ready → weight resent, ready',
    before: withSlot(0, slot('s1', { ...a, state: 'drain' })),
    after: base,
    change: {
      kind: 'runtime',
      ops: [
        { kind: 'weight', backend: 'svc_web', server: 's1', weight: 100 },
        { kind: 'state', backend: 'svc_web', server: 's1', state: 'ready' },
      ],
    },
  },
  {
    name: 'unhealthy → maintenance',
    before: base,
    after: withSlot(0, slot('s1', { ...a, state: 'maint' })),
    change: {
      kind: 'runtime',
      ops: [
        { kind: 'weight', backend: 'svc_web', server: 's1', weight: 100 },
        { kind: 'state', backend: 'svc_web', server: 's1', state: 'maint' },
      ],
    },
  },
  {
    name: 'another endpoint in a busy slot → maintenance first, then address, weight, ready',
    before: base,
    after: withSlot(1, slot('s2', { endpoint: 'h1/ddd', address: '10.0.0.4', weight: 30 })),
    change: {
      kind: 'runtime',
      ops: [
        { kind: 'state', backend: 'svc_web', server: 's2', state: 'maint' },
        { kind: 'addr', backend: 'svc_web', server: 's2', address: '10.0.0.4', port: 8000 },
        { kind: 'weight', backend: 'svc_web', server: 's2', weight: 30 },
        { kind: 'state', backend: 'svc_web', server: 's2', state: 'ready' },
      ],
    },
  },
  {
    name: 'an endpoint that moved to another port → set addr only',
    before: base,
    after: withSlot(0, slot('s1', { ...a, port: 8001 })),
    change: { kind: 'runtime', ops: [{ kind: 'addr', backend: 'svc_web', server: 's1', address: '10.0.0.1', port: 8001 }] },
  },
  {
    name: 'a host added → the whole hosts map replaced',
    before: base,
    after: {
      ...base,
      hostMap: [
        ['web.apps.test', 'svc_web'],
        ['www.example.com', 'svc_web'],
      ],
    },
    change: {
      kind: 'runtime',
      ops: [
        {
          kind: 'map',
          map: 'hosts',
          entries: [
            ['web.apps.test', 'svc_web'],
            ['www.example.com', 'svc_web'],
          ],
        },
      ],
    },
  },
  {
    name: 'a path rule added → the paths map replaced',
    before: base,
    after: { ...base, pathMap: [['web.apps.test/api', 'svc_web']] },
    change: { kind: 'runtime', ops: [{ kind: 'map', map: 'paths', entries: [['web.apps.test/api', 'svc_web']] }] },
  },
  {
    name: 'servers and maps together → one runtime change',
    before: base,
    after: { ...withSlot(0, slot('s1', { ...a, weight: 1 })), hostMap: [] },
    change: {
      kind: 'runtime',
      ops: [
        { kind: 'weight', backend: 'svc_web', server: 's1', weight: 1 },
        { kind: 'map', map: 'hosts', entries: [] },
      ],
    },
  },
  {
    name: 'a structural change wins over server changes → reload',
    before: base,
    after: { ...withSlot(0, slot('s1', { ...a, weight: 1 })), backends: [{ ...withSlot(0, slot('s1', { ...a, weight: 1 })).backends[0]!, balance: 'source' }] },
    change: { kind: 'reload', reason: 'backend svc_web settings changed' },
  },
];

describe('diffHaproxy: runtime API or reload', () => {
  it.each(cases)('$name', ({ before, after, change }) => {
    expect(diffHaproxy(before, after)).toEqual(change);
  });
});
