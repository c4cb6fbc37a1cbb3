import { describe, expect, it } from 'vitest';
import type { Model } from '../model.js';
import { decodeEntry, type Entry } from '../store.js';
import { endpointEntry, ep, modelOf, specEntry } from './fixtures.js';

function routeEntry(spec: Record<string, unknown>, createRevision = 1): Entry {
  return decodeEntry(`routes/${String(spec.name)}`, JSON.stringify(spec), createRevision);
}

function rules(model: Model): string[] {
  return model.hostRules.map((r) => `${r.host}${r.path ?? ''} → ${r.route ? `route ${r.route}` : r.service}`);
}

function conflicts(model: Model): string[] {
  return model.issues.filter((i) => i.code === 'FABRIC_ERR_CONFLICT').map((i) => `${i.subject}: ${i.message}`);
}

const route = (name: string, host: string, services: string[], extra: Record<string, unknown> = {}) => ({
  name,
  host,
  backends: services.map((service) => ({ service, weight: 1 })),
  ...extra,
});

describe('domain ownership: Services, Routes and labels', () => {
  const cases: Array<{ name: string; entries: Entry[]; rules: string[]; conflicts: string[] }> = [
    {
      name: 'a label cannot take a host a spec owns, whatever its path',
      entries: [
        specEntry({ name: 'shop', domains: ['shop.com'] }, 10),
        endpointEntry(ep('thief', 't1', { domains: ['shop.com'] }), 1),
        endpointEntry(ep('thief2', 't2', { domains: ['shop.com'], path: '/admin' }), 2),
      ],
      rules: ['shop.com → shop'],
      conflicts: [
        'services/thief: shop.com is already claimed by service shop; claim by thief refused',
        'services/thief2: shop.com/admin is already claimed by service shop; claim by thief2 refused',
      ],
    },
    {
      name: 'the spec owner’s own labels may add paths to its host',
      entries: [specEntry({ name: 'shop', domains: ['shop.com'] }, 10), endpointEntry(ep('shop', 's1', { domains: ['shop.com'], path: '/api' }), 1)],
      rules: ['shop.com/api → shop'],
      conflicts: [],
    },
    {
      name: 'a route beats a label, however old',
      entries: [endpointEntry(ep('old', 'o1', { domains: ['x.com'] }), 1), routeEntry(route('r', 'x.com', ['web']), 50)],
      rules: ['x.com → route r'],
      conflicts: ['services/old: x.com is already claimed by route r; claim by old refused'],
    },
    {
      name: 'between a Service spec and a Route, the older claim wins',
      entries: [specEntry({ name: 'other', domains: ['x.com'] }, 5), routeEntry(route('r', 'x.com', ['web']), 9)],
      rules: ['x.com → other'],
      conflicts: ['routes/r: x.com is already claimed by service other; claim by route r refused'],
    },
    {
      name: 'between routes, the older wins',
      entries: [routeEntry(route('new', 'x.com', ['a']), 9), routeEntry(route('old', 'x.com', ['b']), 3)],
      rules: ['x.com → route old'],
      conflicts: ['routes/new: x.com is already claimed by route old; claim by route new refused'],
    },
    {
      name: 'a route over the service that owns the host refines it, no conflict',
      entries: [specEntry({ name: 'web', domains: ['x.com'] }, 2), routeEntry(route('canary', 'x.com', ['web']), 9)],
      rules: ['x.com → route canary'],
      conflicts: [],
    },
    {
      name: 'a route inherits its service’s age against a third claim',
      entries: [
        specEntry({ name: 'web', domains: ['x.com'] }, 2),
        specEntry({ name: 'other', domains: ['x.com'] }, 5),
        routeEntry(route('canary', 'x.com', ['web']), 9),
      ],
      rules: ['x.com → route canary'],
      conflicts: ['services/other: x.com is already claimed by route canary; claim by other refused'],
    },
    {
      name: 'a route on a path of a service’s host: both serve, the path goes to the route',
      entries: [specEntry({ name: 'web', domains: ['x.com'] }, 2), routeEntry(route('canary', 'x.com', ['web'], { path: '/beta' }), 9)],
      rules: ['x.com → web', 'x.com/beta → route canary'],
      conflicts: [],
    },
  ];

  it.each(cases)('$name', ({ entries, rules: expected, conflicts: expectedConflicts }) => {
    const model = modelOf(entries, null);
    expect(rules(model)).toEqual(expected);
    expect(conflicts(model)).toEqual(expectedConflicts);
  });

  it('a refused route is inactive and gets no backend; the service view lists the won domains', () => {
    const model = modelOf(
      [specEntry({ name: 'other', domains: ['x.com'] }, 5), routeEntry(route('r', 'x.com', ['web']), 9), endpointEntry(ep('web', 'w1'))],
      null,
    );
    expect(model.weightedRoutes!.map((r) => [r.name, r.active])).toEqual([['r', false]]);
    expect(model.services.map((s) => [s.name, s.domains])).toEqual([
      ['other', ['x.com']],
      ['web', []],
    ]);
  });
});
