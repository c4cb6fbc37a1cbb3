// The incremental model (store + ModelMemo) equals a from-scratch build at the sizes of issue 12:
// keyspaces of 10,000 and 100,000 endpoints, random changes among them (endpoints, specs, routes,
// TLS labels and specs, health verdicts), compared after every step. Correctness, not timing.
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/model/endpoint.js';
import { seededRng } from '../../test/harness/rng.js';
import { type ActiveHealth, buildModel, deriveModel, ModelMemo, type ModelOptions } from '../model.js';
import { type KeyChange, KeyStore } from '../store.js';
import { cid, ep } from './fixtures.js';

const put = (key: string, value: string, createRevision: number): KeyChange => ({ type: 'put', key, value, createRevision });
const del = (key: string): KeyChange => ({ type: 'delete', key, value: '', createRevision: 0 });
const endpointKey = (e: Endpoint) => `endpoints/${e.service}/${e.host}/${e.container}`;
const serviceName = (i: number) => `s${i}`;

function runAtSize(seed: number, services: number, perService: number, steps: number): { reused: number; tlsHosts: number } {
  const r = seededRng(seed);
  const store = new KeyStore();
  const memo = new ModelMemo();
  const verdicts = new Map<string, ActiveHealth>();
  let healthVersion = 0;
  const health = (e: Endpoint) => verdicts.get(e.container);
  const initial: KeyChange[] = [];
  for (let s = 0; s < services; s++) {
    for (let e = 0; e < perService; e++) {
      const endpoint = ep(serviceName(s), `${s}e${e}`);
      initial.push(put(endpointKey(endpoint), JSON.stringify(endpoint), 1));
    }
  }
  store.reset(initial, 1);
  let revision = 1;
  const seen = { reused: 0, tlsHosts: 0 };
  const compare = (step: number) => {
    const opts: ModelOptions = { domain: 'apps.test', health, healthVersion };
    const incremental = deriveModel(store.grouped(), revision, opts, memo);
    const scratch = buildModel([...store.values()], revision, { domain: 'apps.test', health });
    expect(incremental, `seed ${seed} step ${step}`).toEqual(scratch);
    seen.reused += incremental.services.length - memo.derived.length;
    seen.tlsHosts += incremental.tls?.hosts.length ?? 0;
  };
  compare(-1);
  for (let step = 0; step < steps; step++) {
    revision += 1;
    const s = r.int(0, services + 1); // services + 1: a service that did not exist
    const service = serviceName(s);
    const tag = `${s}e${r.int(0, perService)}`;
    const changes: KeyChange[] = [];
    switch (r.int(0, 7)) {
      case 0:
      case 1:
      case 2: {
        const endpoint = ep(service, tag, {
          port: 8000 + r.int(0, 2),
          state: r.pick(['up', 'draining'] as const),
          domains: r.int(0, 4) === 0 ? [r.pick(['x.example', 'y.example', `${serviceName(r.int(0, services - 1))}.apps.test`])] : [],
          ...(r.int(0, 4) === 0 ? { tls: r.pick(['auto', 'none', 'mycert']) } : {}),
        });
        changes.push(put(endpointKey(endpoint), JSON.stringify(endpoint), revision));
        break;
      }
      case 3:
        changes.push(del(`endpoints/${service}/h1/${cid(tag)}`));
        break;
      case 4:
        changes.push(
          put(
            `services/${service}`,
            JSON.stringify({ name: service, domains: r.int(0, 1) ? ['x.example'] : [], ...(r.int(0, 2) === 0 ? { tls: { cert: 'auto' } } : {}) }),
            revision,
          ),
        );
        break;
      case 5:
        changes.push(del(`services/${service}`));
        break;
      case 6:
        changes.push(
          put(
            'routes/r0',
            JSON.stringify({
              name: 'r0',
              host: r.pick(['x.example', 'z.example']),
              backends: [
                { service, weight: 1 + r.int(0, 8) },
                { service: serviceName(r.int(0, services - 1)), weight: 1 },
              ],
            }),
            revision,
          ),
        );
        break;
      case 7:
        verdicts.set(cid(tag), r.pick(['healthy', 'unhealthy'] as const));
        healthVersion += 1;
        break;
    }
    store.apply(changes, revision);
    compare(step);
  }
  return seen;
}

describe('ModelMemo at size: incremental equals from scratch', () => {
  it('10,000 endpoints (1,000 services × 10), three random sequences', { timeout: 240_000 }, () => {
    let reused = 0;
    for (const seed of [1, 2, 3]) reused += runAtSize(seed, 1_000, 10, 25).reused;
    // Nearly every service is reused at every step: the memo was exercised, not bypassed.
    expect(reused).toBeGreaterThan(3 * 25 * 900);
  });

  it('100,000 endpoints (10,000 services × 10), one random sequence', { timeout: 240_000 }, () => {
    const seen = runAtSize(7, 10_000, 10, 6);
    expect(seen.reused).toBeGreaterThan(6 * 9_000);
  });
});
