import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/model/endpoint.js';
import { type Model, servingState } from '../model.js';
import { decodeEntry, type Entry } from '../store.js';
import { endpointEntry, ep, modelOf, specEntry } from './fixtures.js';

function rules(model: Model): string[] {
  return model.hostRules.map((r) => `${r.host}${r.path ?? ''} → ${r.service}`);
}

function conflicts(model: Model): string[] {
  return model.issues.filter((i) => i.code === 'FABRIC_ERR_CONFLICT').map((i) => `${i.subject}: ${i.message}`);
}

describe('buildModel: who gets a domain', () => {
  const cases: Array<{ name: string; entries: Entry[]; domain?: string | null; rules: string[]; conflicts: string[] }> = [
    {
      name: 'every service gets its automatic subdomain',
      entries: [endpointEntry(ep('web', 'w1')), endpointEntry(ep('api', 'a1'))],
      rules: ['api.apps.test → api', 'web.apps.test → web'],
      conflicts: [],
    },
    {
      name: 'no root domain, no automatic subdomains',
      entries: [endpointEntry(ep('web', 'w1', { domains: ['www.example.com'] }))],
      domain: null,
      rules: ['www.example.com → web'],
      conflicts: [],
    },
    {
      name: 'label domains come on top of the automatic one',
      entries: [endpointEntry(ep('web', 'w1', { domains: ['www.example.com', 'example.com'] }))],
      rules: ['example.com → web', 'web.apps.test → web', 'www.example.com → web'],
      conflicts: [],
    },
    {
      name: 'replicas repeating the same label are no conflict',
      entries: [endpointEntry(ep('web', 'w1', { domains: ['x.com'] }), 5), endpointEntry(ep('web', 'w2', { domains: ['x.com'] }), 3)],
      rules: ['web.apps.test → web', 'x.com → web'],
      conflicts: [],
    },
    {
      name: 'a spec beats the automatic subdomain of another service',
      entries: [specEntry({ name: 'site', domains: ['web.apps.test'] }, 9), endpointEntry(ep('web', 'w1'), 1)],
      rules: ['site.apps.test → site', 'web.apps.test → site'],
      conflicts: ['services/web: web.apps.test is already claimed by service site; claim by web refused'],
    },
    {
      name: 'the automatic subdomain beats a label',
      entries: [endpointEntry(ep('web', 'w1'), 9), endpointEntry(ep('thief', 't1', { domains: ['web.apps.test'] }), 1)],
      rules: ['thief.apps.test → thief', 'web.apps.test → web'],
      conflicts: ['services/thief: web.apps.test is already claimed by service web; claim by thief refused'],
    },
    {
      name: 'a spec beats a label, however old the label',
      entries: [endpointEntry(ep('old', 'o1', { domains: ['x.com'] }), 1), specEntry({ name: 'new', domains: ['x.com'] }, 50)],
      rules: ['new.apps.test → new', 'old.apps.test → old', 'x.com → new'],
      conflicts: ['services/old: x.com is already claimed by service new; claim by old refused'],
    },
    {
      name: 'between labels the oldest claim wins',
      entries: [endpointEntry(ep('aaa', 'a1', { domains: ['x.com'] }), 20), endpointEntry(ep('zzz', 'z1', { domains: ['x.com'] }), 10)],
      rules: ['aaa.apps.test → aaa', 'x.com → zzz', 'zzz.apps.test → zzz'],
      conflicts: ['services/aaa: x.com is already claimed by service zzz; claim by aaa refused'],
    },
    {
      name: 'between specs the oldest claim wins',
      entries: [specEntry({ name: 'aaa', domains: ['x.com'] }, 20), specEntry({ name: 'zzz', domains: ['x.com'] }, 10)],
      rules: ['aaa.apps.test → aaa', 'x.com → zzz', 'zzz.apps.test → zzz'],
      conflicts: ['services/aaa: x.com is already claimed by service zzz; claim by aaa refused'],
    },
    {
      name: 'a tie goes to the first service by name',
      entries: [endpointEntry(ep('bbb', 'b1', { domains: ['x.com'] }), 7), endpointEntry(ep('aaa', 'a1', { domains: ['x.com'] }), 7)],
      rules: ['aaa.apps.test → aaa', 'bbb.apps.test → bbb', 'x.com → aaa'],
      conflicts: ['services/bbb: x.com is already claimed by service aaa; claim by bbb refused'],
    },
    {
      name: 'a service claims with its oldest endpoint',
      entries: [
        endpointEntry(ep('aaa', 'a1', { domains: ['x.com'] }), 30),
        endpointEntry(ep('zzz', 'z1', { domains: ['x.com'] }), 20),
        endpointEntry(ep('aaa', 'a2', { domains: ['x.com'] }), 10),
      ],
      rules: ['aaa.apps.test → aaa', 'x.com → aaa', 'zzz.apps.test → zzz'],
      conflicts: ['services/zzz: x.com is already claimed by service aaa; claim by zzz refused'],
    },
    {
      name: 'the same host with different paths is no conflict',
      entries: [endpointEntry(ep('api', 'a1', { domains: ['x.com'], path: '/api' }), 1), endpointEntry(ep('site', 's1', { domains: ['x.com'] }), 2)],
      rules: ['api.apps.test/api → api', 'site.apps.test → site', 'x.com → site', 'x.com/api → api'],
      conflicts: [],
    },
    {
      name: 'the same host and path is a conflict',
      entries: [
        endpointEntry(ep('one', 'o1', { domains: ['x.com'], path: '/api' }), 1),
        endpointEntry(ep('two', 't1', { domains: ['x.com'], path: '/api' }), 2),
      ],
      rules: ['one.apps.test/api → one', 'two.apps.test/api → two', 'x.com/api → one'],
      conflicts: ['services/two: x.com/api is already claimed by service one; claim by two refused'],
    },
  ];

  it.each(cases)('$name', ({ entries, domain, rules: expected, conflicts: expectedConflicts }) => {
    const model = modelOf(entries, domain);
    expect(rules(model)).toEqual(expected);
    expect(conflicts(model)).toEqual(expectedConflicts);
  });

  it('lists each service’s won domains, its automatic subdomain first', () => {
    const model = modelOf([endpointEntry(ep('web', 'w1', { domains: ['b.com', 'a.com'] }), 5), endpointEntry(ep('other', 'o1', { domains: ['a.com'] }), 1)]);
    expect(model.services.map((s) => [s.name, s.domains])).toEqual([
      ['other', ['other.apps.test', 'a.com']],
      ['web', ['web.apps.test', 'b.com']],
    ]);
  });
});

describe('buildModel: services', () => {
  it('groups endpoints by service in key order, takes settings from the spec, reports undecodable keys', () => {
    const bad = decodeEntry('endpoints/web/h1/0123456789ab', '{oops', 4);
    const model = modelOf([
      endpointEntry(ep('web', 'w2'), 2),
      endpointEntry(ep('web', 'w1'), 3),
      specEntry({ name: 'web', balance: 'leastconn', paths: ['/app'] }),
      specEntry({ name: 'idle', mode: 'tcp' }),
      bad,
    ]);
    expect(model.revision).toBe(10);
    expect(model.services.map((s) => s.name)).toEqual(['idle', 'web']);
    const web = model.services[1]!;
    expect(web.endpoints.map((e) => e.name)).toEqual(['w1', 'w2']); // container ids sort like the tags
    expect(web).toMatchObject({ balance: 'leastconn', mode: 'http', paths: ['/app'] });
    expect(model.services[0]).toMatchObject({ name: 'idle', mode: 'tcp', endpoints: [] });
    expect(model.issues).toEqual([{ code: 'FABRIC_ERR_DECODE', subject: 'endpoints/web/h1/0123456789ab', message: expect.stringMatching(/not JSON/) }]);
  });

  it('reports endpoints that disagree on the mode and takes the first', () => {
    const model = modelOf([endpointEntry(ep('mix', 'a', { mode: 'tcp' })), endpointEntry(ep('mix', 'b', { mode: 'http' }))]);
    expect(model.services[0]!.mode).toBe('tcp');
    expect(conflicts(model)).toEqual(['services/mix: endpoints disagree on mode; using tcp']);
  });

  it.each<[Partial<Endpoint>, string]>([
    [{ health: 'none', state: 'up' }, 'ready'],
    [{ health: 'healthy', state: 'up' }, 'ready'],
    [{ health: 'none', state: 'draining' }, 'drain'],
    [{ health: 'healthy', state: 'draining' }, 'drain'],
    [{ health: 'unhealthy', state: 'up' }, 'maint'],
    [{ health: 'starting', state: 'up' }, 'maint'],
    [{ health: 'unhealthy', state: 'draining' }, 'maint'],
  ])('servingState(%o) = %s', (fields, expected) => {
    expect(servingState(ep('web', 'x', fields))).toBe(expected);
  });
});

describe('buildModel: a Route to a service that does not exist', () => {
  const route = (backends: Array<{ service: string; weight: number }>) =>
    decodeEntry('routes/shop', JSON.stringify({ name: 'shop', host: 'shop.example.com', backends }), 4);
  const missing = (model: Model) => model.issues.filter((i) => i.code === 'FABRIC_ERR_NOT_FOUND').map((i) => `${i.subject}: ${i.message}`);

  it('is reported, naming the route and the service', () => {
    const model = modelOf([
      route([
        { service: 'web', weight: 50 },
        { service: 'gone', weight: 50 },
      ]),
      endpointEntry(ep('web', 'w1')),
    ]);
    expect(missing(model)).toEqual(['routes/shop: backend service "gone" does not exist (no Service spec, no endpoints); it gets no traffic until it does']);
    // Still served: the existing backend takes the whole route.
    expect(model.weightedRoutes?.find((r) => r.name === 'shop')?.groups.map((g) => g.share)).toEqual([1, 0]);
  });

  it('is not reported for a service known by its spec alone or by its endpoints alone', () => {
    const model = modelOf([
      route([
        { service: 'web', weight: 50 },
        { service: 'api', weight: 50 },
      ]),
      endpointEntry(ep('web', 'w1')),
      specEntry({ name: 'api' }),
    ]);
    expect(missing(model)).toEqual([]);
  });
});
