// Static endpoints of a Service spec in the model (lb/model.ts withStaticEndpoints): served beside the
// agent's, on host `static`, with the spec's mode; a real key at the same place wins; the memo agrees.
import { describe, expect, it } from 'vitest';
import { deriveModel, groupEntries, ModelMemo } from '../model.js';
import { endpointEntry, ep, modelOf, specEntry } from './fixtures.js';

const spec = (endpoints: unknown[], extra: Record<string, unknown> = {}) => specEntry({ kind: 'Service', name: 'web', endpoints, ...extra }, 4);

describe('static endpoints in the model', () => {
  it('serves them beside container endpoints, keyed endpoints/<service>/static/<address>-<port>', () => {
    const model = modelOf([
      spec([
        { address: '127.0.0.1', port: 9000 },
        { address: '::1', port: 80, weight: 5 },
      ]),
      endpointEntry(ep('web', 'w1')),
    ]);
    const web = model.services.find((s) => s.name === 'web')!;
    expect(web.endpoints.map((e) => `${e.host}/${e.container} ${e.address}:${e.port} w${e.weight} ${e.state}`).sort()).toEqual([
      `h1/${ep('web', 'w1').container} 10.0.0.1:${ep('web', 'w1').port} w${ep('web', 'w1').weight} up`,
      'static/0__1-80 ::1:80 w5 up',
      'static/127.0.0.1-9000 127.0.0.1:9000 w100 up',
    ]);
    expect(model.issues).toEqual([]);
  });

  it('takes the spec mode, and a service with only static endpoints is served', () => {
    const model = modelOf([spec([{ address: '10.1.1.1', port: 5432 }], { mode: 'tcp' })]);
    expect(model.services[0]!.endpoints).toMatchObject([{ mode: 'tcp', host: 'static', container: '10.1.1.1-5432' }]);
  });

  it('lists a duplicate once, and a real key at the same place wins', () => {
    const real = ep('web', 'x', { host: 'static', container: '127.0.0.1-9000', address: '127.0.0.1', port: 9000, weight: 3 });
    const model = modelOf([
      spec([
        { address: '127.0.0.1', port: 9000 },
        { address: '127.0.0.1', port: 9000 },
      ]),
      endpointEntry(real),
    ]);
    expect(model.services[0]!.endpoints.map((e) => e.weight)).toEqual([3]);
  });

  it('the memo derives the same model as a fresh build when the spec changes', () => {
    const memo = new ModelMemo();
    const build = (entries: ReturnType<typeof spec>[]) => deriveModel({ ...groupEntries(entries) }, 1, { domain: 'apps.test' }, memo);
    build([spec([{ address: '127.0.0.1', port: 1 }])]);
    const after = build([spec([{ address: '127.0.0.1', port: 2 }])]);
    expect(after.services[0]!.endpoints.map((e) => e.port)).toEqual([2]);
  });
});
