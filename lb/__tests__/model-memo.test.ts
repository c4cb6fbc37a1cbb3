import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/model/endpoint.js';
import { seededRng } from '../../test/harness/rng.js';
import { DesiredMemo, desiredHaproxy, type SlotTable } from '../haproxy/desired.js';
import { type ActiveHealth, buildModel, deriveModel, ModelMemo, type ModelOptions } from '../model.js';
import { type KeyChange, KeyStore } from '../store.js';
import { cid, ep } from './fixtures.js';

const put = (key: string, value: string, createRevision = 1): KeyChange => ({ type: 'put', key, value, createRevision });
const del = (key: string): KeyChange => ({ type: 'delete', key, value: '', createRevision: 0 });
const endpointPut = (e: Endpoint, createRevision = 1) => put(`endpoints/${e.service}/${e.host}/${e.container}`, JSON.stringify(e), createRevision);
/** Either key layout: the older `endpoints/<service>/<host>/<id>` or the host-scoped one. */
const endpointKeyIn = (hostScoped: boolean, service: string, host: string, container: string) =>
  hostScoped ? `hosts/${host}/endpoints/${service}/${container}` : `endpoints/${service}/${host}/${container}`;
const hostRecord = (name: string, pool: string | undefined) =>
  JSON.stringify({ name, address: '10.0.0.1', agentVersion: '0.1.0', started: '2026-01-01T00:00:00.000Z', ...(pool ? { pool } : {}) });

function storeWith(changes: KeyChange[]): KeyStore {
  const store = new KeyStore();
  store.reset(changes, 1);
  return store;
}

describe('ModelMemo: incremental model builds', () => {
  const options: ModelOptions = { domain: 'apps.test' };

  it('re-derives only the service whose keys changed, and equals a build from scratch', () => {
    const store = storeWith(['a', 'b', 'c'].flatMap((s) => [endpointPut(ep(s, `${s}1`)), endpointPut(ep(s, `${s}2`))]));
    const memo = new ModelMemo();
    const first = deriveModel(store.grouped(), 1, options, memo);
    expect(memo.derived).toEqual(['a', 'b', 'c']);

    store.apply([endpointPut(ep('b', 'b1', { port: 9000 }))], 2);
    const second = deriveModel(store.grouped(), 2, options, memo);
    expect(memo.derived).toEqual(['b']);
    expect(second).toEqual(buildModel([...store.values()], 2, options));
    // Unchanged services are the very same objects: targets skip them by identity.
    expect(second.services[0]).toBe(first.services[0]);
    expect(second.services[1]).not.toBe(first.services[1]);
    expect(second.services[2]).toBe(first.services[2]);
    // An address change does not touch any claim: the host rules are reused too.
    expect(second.hostRules).toBe(first.hostRules);

    deriveModel(store.grouped(), 2, options, memo);
    expect(memo.derived).toEqual([]);
  });

  it('re-derives a service whose health verdict changed, and only when the health version moved', () => {
    const store = storeWith([endpointPut(ep('a', 'a1')), endpointPut(ep('b', 'b1'))]);
    const verdicts = new Map<string, ActiveHealth>();
    const health = (e: Endpoint) => verdicts.get(e.container);
    const memo = new ModelMemo();
    deriveModel(store.grouped(), 1, { ...options, health, healthVersion: 1 }, memo);
    verdicts.set(cid('b1'), 'unhealthy');
    const next = deriveModel(store.grouped(), 1, { ...options, health, healthVersion: 2 }, memo);
    expect(memo.derived).toEqual(['b']);
    expect(next).toEqual(buildModel([...store.values()], 1, { ...options, health }));
    expect(next.services[1]!.endpoints[0]!.activeHealth).toBe('unhealthy');
    // Without a version the verdicts are asked again every time.
    verdicts.set(cid('a1'), 'healthy');
    deriveModel(store.grouped(), 1, { ...options, health }, memo);
    expect(memo.derived).toEqual(['a']);
  });

  it('forgets a reset store: new generations, nothing stale', () => {
    const store = storeWith([endpointPut(ep('a', 'a1'))]);
    const memo = new ModelMemo();
    deriveModel(store.grouped(), 1, options, memo);
    store.reset([endpointPut(ep('a', 'a1', { port: 1234 }))], 5);
    const model = deriveModel(store.grouped(), 5, options, memo);
    expect(model.services[0]!.endpoints[0]!.port).toBe(1234);
    expect(memo.derived).toEqual(['a']);
  });

  it('equals a from-scratch build after every step of random change sequences (and so does the HAProxy desired state)', () => {
    const services = ['a', 'b', 'c', 'd', 'e'];
    const domains = ['x.example', 'y.example', 'z.example'];
    const hosts = ['h1', 'h2'];
    const seen = { activeRoutes: 0, reusedServices: 0, decodeIssues: 0, notAllowed: 0, twoLayouts: 0 };
    for (let seed = 1; seed <= 30; seed++) {
      const r = seededRng(seed);
      const store = new KeyStore();
      const memo = new ModelMemo();
      const desiredMemo = new DesiredMemo();
      let slotsIncremental: SlotTable = new Map();
      let slotsScratch: SlotTable = new Map();
      const verdicts = new Map<string, ActiveHealth>();
      let healthVersion = 0;
      const health = (e: Endpoint) => verdicts.get(e.container);
      let revision = 1;
      store.reset([], revision);
      for (let step = 0; step < 60; step++) {
        revision += 1;
        const service = r.pick(services);
        const tag = `${service}${r.int(0, 3)}`;
        const changes: KeyChange[] = [];
        const host = r.pick(hosts);
        const hostScoped = r.int(0, 1) === 0;
        switch (r.int(0, 10)) {
          case 0:
          case 1:
          case 2: {
            const e = ep(service, tag, {
              host,
              port: 8000 + r.int(0, 2),
              weight: r.pick([0, 50, 100]),
              state: r.pick(['up', 'draining'] as const),
              health: r.pick(['none', 'unhealthy'] as const),
              domains: r.int(0, 3) === 0 ? [r.pick(domains)] : [],
            });
            changes.push(put(endpointKeyIn(hostScoped, service, host, e.container), JSON.stringify(e), revision));
            break;
          }
          case 3:
            changes.push(del(endpointKeyIn(hostScoped, service, host, cid(tag))));
            break;
          case 4:
            changes.push(
              put(
                `services/${service}`,
                JSON.stringify({
                  name: service,
                  domains: r.int(0, 1) ? [r.pick(domains)] : [],
                  ...(r.int(0, 2) === 0 ? { paths: ['/api'] } : {}),
                  ...(r.int(0, 3) === 0 ? { mode: 'tcp' } : {}),
                  ...(r.int(0, 2) === 0 ? { hosts: [r.pick(['h1', 'h*', 'x*'])] } : {}),
                  ...(r.int(0, 2) === 0 ? { pools: [r.pick(['blue', 'green'])] } : {}),
                }),
                revision,
              ),
            );
            break;
          case 5:
            changes.push(del(`services/${service}`));
            break;
          case 6: {
            const route = `r${r.int(0, 1)}`;
            const backends = [
              { service, weight: 1 + r.int(0, 8) },
              { service: r.pick(services), weight: 1 + r.int(0, 8) },
            ];
            changes.push(
              put(
                `routes/${route}`,
                JSON.stringify({ name: route, host: r.pick(domains), backends: backends.slice(0, 1 + r.int(0, 1)), sticky: r.int(0, 1) === 0 }),
                revision,
              ),
            );
            break;
          }
          case 7:
            changes.push(
              put(endpointKeyIn(hostScoped, service, host, cid(tag)), r.int(0, 1) ? 'not json' : JSON.stringify(ep(service, tag, { host })), revision),
            );
            break;
          case 8:
            verdicts.set(cid(tag), r.pick(['healthy', 'unhealthy'] as const));
            healthVersion += 1;
            break;
          case 9:
            // An agent's host record (its --pool), in either layout.
            changes.push(put(hostScoped ? `hosts/${host}/info` : `hosts/${host}`, hostRecord(host, r.pick([undefined, 'blue', 'green'])), revision));
            break;
          case 10:
            changes.push(del(hostScoped ? `hosts/${host}/info` : `hosts/${host}`));
            break;
        }
        store.apply(changes, revision);
        const opts: ModelOptions = { domain: 'apps.test', health, healthVersion };
        const incremental = deriveModel(store.grouped(), revision, opts, memo);
        const scratch = buildModel([...store.values()], revision, { domain: 'apps.test', health });
        expect(incremental, `seed ${seed} step ${step}`).toEqual(scratch);
        seen.activeRoutes += incremental.weightedRoutes!.filter((route) => route.active).length;
        seen.reusedServices += incremental.services.length - memo.derived.length;
        seen.decodeIssues += incremental.issues.filter((i) => i.code === 'FABRIC_ERR_DECODE').length;
        seen.notAllowed += incremental.issues.filter((i) => i.code === 'FABRIC_ERR_NOT_ALLOWED').length;
        const keys = [...store.values()].map((e) => e.key);
        seen.twoLayouts += keys.filter(
          (k) => k.startsWith('endpoints/') && keys.includes(`hosts/${k.split('/')[2]}/endpoints/${k.split('/')[1]}/${k.split('/')[3]}`),
        ).length;

        const a = desiredHaproxy(incremental, slotsIncremental, desiredMemo);
        const b = desiredHaproxy(scratch, slotsScratch);
        expect(a.desired, `seed ${seed} step ${step}`).toEqual(b.desired);
        // Now and then a plan is not applied (HAProxy refused it): the target keeps its slots, so the
        // next plan starts from a table the memo's last plan did not return.
        if (r.int(0, 5) === 0) continue;
        slotsIncremental = a.slots;
        slotsScratch = b.slots;
      }
    }
    // The sequences did exercise routes, reuse and undecodable values.
    expect(seen.activeRoutes).toBeGreaterThan(0);
    expect(seen.reusedServices).toBeGreaterThan(0);
    expect(seen.decodeIssues).toBeGreaterThan(0);
    // …and endpoints held in both layouts, and refusals of hosts a spec does not allow.
    expect(seen.notAllowed).toBeGreaterThan(0);
    expect(seen.twoLayouts).toBeGreaterThan(0);
  });
});

describe('DesiredMemo', () => {
  it('rebuilds only the changed service backend; the others are the same objects', () => {
    const store = storeWith(['a', 'b', 'c'].map((s) => endpointPut(ep(s, `${s}1`))));
    const memo = new ModelMemo();
    const desiredMemo = new DesiredMemo();
    const first = desiredHaproxy(deriveModel(store.grouped(), 1, { domain: 'apps.test' }, memo), new Map(), desiredMemo);
    expect(desiredMemo.built).toEqual(['svc_a', 'svc_b', 'svc_c']);
    store.apply([endpointPut(ep('c', 'c2'))], 2);
    const second = desiredHaproxy(deriveModel(store.grouped(), 2, { domain: 'apps.test' }, memo), first.slots, desiredMemo);
    expect(desiredMemo.built).toEqual(['svc_c']);
    expect(second.desired.backends[0]).toBe(first.desired.backends[0]);
    expect(second.desired.hostMap).toBe(first.desired.hostMap);
    // A plan that was never committed: its slot tables are not the ones passed in, so nothing of it is reused.
    desiredHaproxy(deriveModel(store.grouped(), 2, { domain: 'apps.test' }, memo), new Map(), desiredMemo);
    expect(desiredMemo.built).toEqual(['svc_a', 'svc_b', 'svc_c']);
  });
});
