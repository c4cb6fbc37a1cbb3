// Shared builders for the router's unit tests: endpoints and models made the way the router makes
// them (JSON in etcd → decodeEntry → buildModel), so the tests exercise the real decoding too.
import type { Endpoint } from '../../src/model/endpoint.js';
import { buildModel, type Model } from '../model.js';
import { decodeEntry, type Entry } from '../store.js';

/** A 64-hex container id derived from a short tag, so tests can name containers. */
export function cid(tag: string): string {
  return Buffer.from(tag).toString('hex').padEnd(64, '0').slice(0, 64);
}

export function ep(service: string, tag: string, overrides: Partial<Endpoint> = {}): Endpoint {
  return {
    service,
    host: 'h1',
    container: cid(tag),
    name: tag,
    address: '10.0.0.1',
    port: 8000,
    weight: 100,
    mode: 'http',
    domains: [],
    health: 'none',
    state: 'up',
    ...overrides,
  };
}

export function endpointEntry(e: Endpoint, createRevision = 1): Entry {
  return decodeEntry(`endpoints/${e.service}/${e.host}/${e.container}`, JSON.stringify(e), createRevision);
}

export function specEntry(spec: Record<string, unknown>, createRevision = 1): Entry {
  return decodeEntry(`services/${String(spec.name)}`, JSON.stringify(spec), createRevision);
}

/** `domain: null` builds without a root domain (no automatic subdomains). */
export function modelOf(entries: Entry[], domain: string | null = 'apps.test', revision = 10): Model {
  return buildModel(entries, revision, { domain: domain ?? undefined });
}
