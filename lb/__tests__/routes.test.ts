import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/model/endpoint.js';
import { desiredHaproxy, type HaproxyDesired, type SlotTable } from '../haproxy/desired.js';
import { diffHaproxy } from '../haproxy/diff.js';
import { decodeEntry, type Entry } from '../store.js';
import { endpointEntry, ep, modelOf, specEntry } from './fixtures.js';

function routeEntry(spec: Record<string, unknown>, createRevision = 1): Entry {
  return decodeEntry(`routes/${String(spec.name)}`, JSON.stringify(spec), createRevision);
}

const v1 = ['a', 'b', 'c'].map((t, i) => ep('web', `v1${t}`, { version: 'v1', port: 8001 + i }));
const v2 = [ep('web', 'v2a', { version: 'v2', port: 8010 })];

function canary(weights: [number, number], extra: Record<string, unknown> = {}, endpoints: Endpoint[] = [...v1, ...v2]) {
  return modelOf([
    specEntry({ name: 'web', domains: ['www.example.com'] }, 2),
    routeEntry(
      {
        name: 'canary',
        host: 'www.example.com',
        path: '/',
        backends: [
          { service: 'web', version: 'v1', weight: weights[0] },
          { service: 'web', version: 'v2', weight: weights[1] },
        ],
        ...extra,
      },
      5,
    ),
    ...endpoints.map((e) => endpointEntry(e)),
  ]);
}

function plan(model: ReturnType<typeof canary>, slots: SlotTable = new Map()) {
  return desiredHaproxy(model, slots);
}

function routeBackend(desired: HaproxyDesired) {
  return desired.backends.find((b) => b.name === 'route_canary')!;
}

describe('Routes in the model and in HAProxy', () => {
  it('builds one backend per route, servers weighted for each version’s share', () => {
    const model = canary([90, 10]);
    const route = model.weightedRoutes![0]!;
    expect(route).toMatchObject({ name: 'canary', active: true, sticky: false });
    expect(route.groups.map((g) => [g.version, g.servers.length, g.servers.map((s) => s.weight)])).toEqual([
      ['v1', 3, [256, 256, 256]],
      ['v2', 1, [85]],
    ]);
    const { desired } = plan(model);
    const backend = routeBackend(desired);
    expect(backend).toMatchObject({ route: 'canary', mode: 'http', balance: 'roundrobin' });
    expect(backend.cookie).toBeUndefined();
    expect(backend.servers.filter((s) => s.endpoint).map((s) => `${s.port} w${s.weight} ${s.state}`)).toEqual([
      '8001 w256 ready',
      '8002 w256 ready',
      '8003 w256 ready',
      '8010 w85 ready',
    ]);
    // The route's host+path goes to the route backend; the service keeps its bare host.
    expect(desired.pathMap).toContainEqual(['www.example.com/', 'route_canary']);
    expect(desired.hostMap).toContainEqual(['www.example.com', 'svc_web']);
  });

  it('moving the weights (90/10 → 50/50) is runtime `set weight` ops only, no reload', () => {
    const first = plan(canary([90, 10]));
    const second = plan(canary([50, 50]), first.slots);
    const change = diffHaproxy(first.desired, second.desired);
    expect(change.kind).toBe('runtime');
    if (change.kind !== 'runtime') return;
    expect(change.ops).toEqual([
      { kind: 'weight', backend: 'route_canary', server: 's1', weight: 85 },
      { kind: 'weight', backend: 'route_canary', server: 's2', weight: 85 },
      { kind: 'weight', backend: 'route_canary', server: 's3', weight: 85 },
      { kind: 'weight', backend: 'route_canary', server: 's4', weight: 256 },
    ]);
  });

  it('an endpoint of a version leaving rebalances the weights at run time', () => {
    const first = plan(canary([90, 10]));
    const second = plan(canary([90, 10], {}, [...v1.slice(0, 2), ...v2]), first.slots);
    const change = diffHaproxy(first.desired, second.desired);
    expect(change.kind).toBe('runtime');
    expect(routeBackend(second.desired).servers.map((s) => s.weight)).toEqual([256, 256, 1, 57]);
  });

  it('turning sticky on reloads: cookie insert, a cookie per server', () => {
    const first = plan(canary([90, 10]));
    const second = plan(canary([90, 10], { sticky: true }), first.slots);
    expect(routeBackend(second.desired).cookie).toBe('FABRIC_canary');
    expect(diffHaproxy(first.desired, second.desired)).toEqual({ kind: 'reload', reason: 'backend route_canary now sticky' });
  });

  it('a route without endpoints still has its backend (HAProxy answers 503)', () => {
    const { desired } = plan(canary([90, 10], {}, []));
    expect(routeBackend(desired).servers.every((s) => s.state === 'maint' && !s.endpoint)).toBe(true);
  });

  it('an endpoint in no version of the route is not one of its servers; without a version, any is', () => {
    const model = modelOf([
      routeEntry({
        name: 'canary',
        host: 'x.com',
        backends: [
          { service: 'web', version: 'v2', weight: 1 },
          { service: 'api', weight: 1 },
        ],
      }),
      endpointEntry(ep('web', 'w1', { version: 'v1' })),
      endpointEntry(ep('web', 'w2', { version: 'v2' })),
      endpointEntry(ep('api', 'a1')),
    ]);
    expect(model.weightedRoutes![0]!.groups.map((g) => g.servers.map((s) => s.endpoint.name))).toEqual([['w2'], ['a1']]);
    expect(model.hostRules).toContainEqual({ host: 'x.com', path: undefined, service: 'web', route: 'canary' });
    expect(plan(model).desired.hostMap).toContainEqual(['x.com', 'route_canary']);
  });
});

describe('VIP frontends in HAProxy', () => {
  const vip = (address: string, service: string) => decodeEntry(`vips/${address}`, service, 1);

  it('one frontend per service with a VIP; adding one reloads', () => {
    const before = plan(modelOf([specEntry({ name: 'web', vip: 'auto' }), specEntry({ name: 'db', mode: 'tcp', vip: 'auto', port: 5432 })]));
    expect(before.desired.frontends).toEqual([]);
    const after = plan(
      modelOf([
        specEntry({ name: 'web', vip: 'auto' }),
        specEntry({ name: 'db', mode: 'tcp', vip: 'auto', port: 5432 }),
        vip('10.200.0.1', 'web'),
        vip('10.200.0.2', 'db'),
      ]),
      before.slots,
    );
    expect(after.desired.frontends).toEqual([
      { name: 'vip_db', service: 'db', address: '10.200.0.2', port: 5432, mode: 'tcp', backend: 'svc_db' },
      { name: 'vip_web', service: 'web', address: '10.200.0.1', port: 80, mode: 'http', backend: 'svc_web' },
    ]);
    expect(diffHaproxy(before.desired, after.desired)).toEqual({ kind: 'reload', reason: 'VIP frontends changed (+vip_db +vip_web)' });
    expect(diffHaproxy(after.desired, structuredClone(after.desired))).toEqual({ kind: 'none' });
  });
});
