import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/model/endpoint.js';
import { backendName, desiredHaproxy, type SlotTable } from '../haproxy/desired.js';
import { endpointEntry, ep, modelOf, specEntry } from './fixtures.js';

/** Runs a sequence of endpoint sets through desiredHaproxy, carrying the slot table along. */
function sequence(service: string, steps: string[][], overrides: Record<string, Partial<Endpoint>> = {}) {
  let slots: SlotTable = new Map();
  return steps.map((tags) => {
    const model = modelOf(tags.map((tag, i) => endpointEntry(ep(service, tag, { port: 8000 + i, ...overrides[tag] }))));
    const result = desiredHaproxy(model, slots);
    slots = result.slots;
    const backend = result.desired.backends.find((b) => b.service === service)!;
    return {
      size: backend.servers.length,
      /** tag → slot name, from the endpoint key `h1/<container>`. */
      bySlot: Object.fromEntries(
        backend.servers.filter((s) => s.endpoint).map((s) => [tags.find((t) => s.endpoint!.endsWith(ep(service, t).container))!, s.name]),
      ),
      backend,
    };
  });
}

describe('desiredHaproxy: slot assignment', () => {
  const cases: Array<{ name: string; steps: string[][]; sizes: number[]; slots: Array<Record<string, string>> }> = [
    {
      name: 'first endpoints fill slots in order, at least 4 slots',
      steps: [['a', 'b', 'c']],
      sizes: [4],
      slots: [{ a: 's1', b: 's2', c: 's3' }],
    },
    {
      name: 'an endpoint keeps its slot when others come and go',
      steps: [
        ['a', 'b', 'c'],
        ['a', 'c'],
        ['a', 'c', 'd'],
        ['c', 'd'],
      ],
      sizes: [4, 4, 4, 4],
      slots: [
        { a: 's1', b: 's2', c: 's3' },
        { a: 's1', c: 's3' },
        { a: 's1', c: 's3', d: 's4' },
        { c: 's3', d: 's4' },
      ],
    },
    {
      // HAProxy 2.6 may keep a connection to a refilled slot's old address (lb/haproxy/desired.ts BackendSlots.free).
      name: 'a replaced endpoint never takes the slot its plan frees: the slot free the longest instead',
      steps: [['a'], ['b'], ['c'], ['d'], ['e']],
      sizes: [4, 4, 4, 4, 4],
      slots: [{ a: 's1' }, { b: 's2' }, { c: 's3' }, { d: 's4' }, { e: 's1' }],
    },
    {
      name: 'in a full backend, a replaced endpoint grows it rather than refill the slot just freed',
      steps: [
        ['a', 'b', 'c', 'd'],
        ['a', 'b', 'c', 'e'],
        ['a', 'b', 'c', 'e', 'f'],
      ],
      sizes: [4, 8, 8],
      slots: [
        { a: 's1', b: 's2', c: 's3', d: 's4' },
        { a: 's1', b: 's2', c: 's3', e: 's5' },
        { a: 's1', b: 's2', c: 's3', e: 's5', f: 's6' },
      ],
    },
    {
      name: 'new endpoints take the slots free the longest',
      steps: [
        ['a', 'b', 'c', 'd'],
        ['b', 'd'],
        ['b', 'd', 'e', 'f'],
      ],
      sizes: [4, 4, 4],
      slots: [
        { a: 's1', b: 's2', c: 's3', d: 's4' },
        { b: 's2', d: 's4' },
        { b: 's2', d: 's4', e: 's1', f: 's3' },
      ],
    },
    {
      name: 'the backend grows by half again (to a multiple of 4) when slots run out',
      steps: [['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd', 'e'], 'abcdefghi'.split('')],
      sizes: [4, 8, 12],
      slots: [
        { a: 's1', b: 's2', c: 's3', d: 's4' },
        { a: 's1', b: 's2', c: 's3', d: 's4', e: 's5' },
        { a: 's1', b: 's2', c: 's3', d: 's4', e: 's5', f: 's6', g: 's7', h: 's8', i: 's9' },
      ],
    },
    {
      name: 'a big jump grows as often as needed',
      steps: [['a'], 'abcdefghijklmnopq'.split('')],
      sizes: [4, 20],
      slots: [{ a: 's1' }, Object.fromEntries('abcdefghijklmnopq'.split('').map((t, i) => [t, `s${i + 1}`]))],
    },
    {
      name: 'it never shrinks',
      steps: ['abcdefghi'.split(''), ['i'], ['i', 'z']],
      sizes: [12, 12, 12],
      slots: [Object.fromEntries('abcdefghi'.split('').map((t, i) => [t, `s${i + 1}`])), { i: 's9' }, { i: 's9', z: 's10' }],
    },
  ];

  it.each(cases)('$name', ({ steps, sizes, slots }) => {
    const results = sequence('web', steps);
    expect(results.map((r) => r.size)).toEqual(sizes);
    expect(results.map((r) => r.bySlot)).toEqual(slots);
  });

  it('renders empty slots as maintenance on a placeholder address, and maps endpoint state', () => {
    const [result] = sequence('web', [['up', 'drained', 'sick', 'starting']], {
      drained: { state: 'draining', weight: 7 },
      sick: { health: 'unhealthy' },
      starting: { health: 'starting' },
      up: { health: 'healthy', address: '10.1.2.3', port: 9000, weight: 42 },
    });
    const servers = result!.backend.servers;
    const slotOf = (tag: string) => servers[Number(result!.bySlot[tag]!.slice(1)) - 1]!;
    expect(Object.fromEntries(['up', 'drained', 'sick', 'starting'].map((t) => [t, slotOf(t).state]))).toEqual({
      up: 'ready',
      drained: 'drain',
      sick: 'maint',
      starting: 'maint',
    });
    expect(slotOf('up')).toMatchObject({ address: '10.1.2.3', port: 9000, weight: 42 });
    expect(slotOf('drained').weight).toBe(7); // the endpoint's weight is kept; the template renders drain as 0
    const [grown] = sequence('web', [['a']]);
    expect(grown!.backend.servers.slice(1)).toEqual([
      { name: 's2', endpoint: undefined, address: '127.0.0.1', port: 1, weight: 1, state: 'maint' },
      { name: 's3', endpoint: undefined, address: '127.0.0.1', port: 1, weight: 1, state: 'maint' },
      { name: 's4', endpoint: undefined, address: '127.0.0.1', port: 1, weight: 1, state: 'maint' },
    ]);
  });

  it('keeps the slots of a service that has a spec but no endpoints left', () => {
    const spec = specEntry({ name: 'web' });
    const grown = desiredHaproxy(modelOf([spec, ...'abcde'.split('').map((t) => endpointEntry(ep('web', t)))]), new Map());
    const empty = desiredHaproxy(modelOf([spec]), grown.slots);
    expect(empty.desired.backends[0]!.servers).toHaveLength(8);
    expect(empty.desired.backends[0]!.servers.every((s) => s.endpoint === undefined && s.state === 'maint')).toBe(true);
    // Without a spec, a service with no endpoints is no service at all: its backend goes.
    expect(desiredHaproxy(modelOf([]), grown.slots).desired.backends).toEqual([]);
  });

  it('keeps each backend’s slots to itself', () => {
    const first = desiredHaproxy(modelOf([endpointEntry(ep('a', 'a1')), endpointEntry(ep('b', 'b1')), endpointEntry(ep('b', 'b2'))]), new Map());
    const second = desiredHaproxy(modelOf([endpointEntry(ep('a', 'a1')), endpointEntry(ep('b', 'b2'))]), first.slots);
    expect(second.desired.backends.map((b) => [b.name, b.servers.filter((s) => s.endpoint).map((s) => s.name)])).toEqual([
      ['svc_a', ['s1']],
      ['svc_b', ['s2']],
    ]);
    expect(backendName('web')).toBe('svc_web');
  });

  it('builds host and path maps: http services only, exact hosts sorted, longest path first', () => {
    const model = modelOf([
      endpointEntry(ep('web', 'w1', { domains: ['www.example.com'] })),
      endpointEntry(ep('api', 'a1', { path: '/api' })),
      endpointEntry(ep('apiv2', 'a2', { path: '/api/v2', domains: ['api.apps.test'] })),
      endpointEntry(ep('db', 'd1', { mode: 'tcp' })),
      specEntry({ name: 'docs', domains: ['docs.example.com'] }),
    ]);
    const { desired } = desiredHaproxy(model, new Map());
    expect(desired.hostMap).toEqual([
      ['docs.apps.test', 'svc_docs'],
      ['docs.example.com', 'svc_docs'],
      ['web.apps.test', 'svc_web'],
      ['www.example.com', 'svc_web'],
    ]);
    // map_beg takes the first match in file order: the longest (most specific) prefix goes first.
    expect(desired.pathMap).toEqual([
      ['apiv2.apps.test/api/v2', 'svc_apiv2'],
      ['api.apps.test/api/v2', 'svc_apiv2'],
      ['api.apps.test/api', 'svc_api'],
    ]);
    expect(desired.backends.map((b) => [b.name, b.mode, b.balance])).toEqual([
      ['svc_api', 'http', 'roundrobin'],
      ['svc_apiv2', 'http', 'roundrobin'],
      ['svc_db', 'tcp', 'roundrobin'],
      ['svc_docs', 'http', 'roundrobin'],
      ['svc_web', 'http', 'roundrobin'],
    ]);
  });
});
