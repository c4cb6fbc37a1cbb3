import type { Model, ModelEndpoint, ServiceModel } from '../model.js';
import { endpointKey } from './spec.js';

/** A service's endpoints as the last sync saw them, and their keys. */
export interface SyncedService {
  endpoints: ModelEndpoint[];
  spec: ServiceModel['spec'];
  keys: Set<string>;
}

/** What the last sync saw: each service by name, and the model's services array in order. */
export class SyncedServices {
  readonly byName = new Map<string, SyncedService>();
  last: readonly ServiceModel[] = [];
}

/**
 * The walk both checkers make after each model build: every endpoint of a changed service goes
 * to `track`, every key that left the model to `forget`. A service whose endpoints and spec are
 * the same objects as at the last sync (the model memo reuses them) is skipped: nothing about its
 * checks can have changed; the same service object at the same place is skipped without a lookup.
 * Updates `synced` in place (a fresh map of every service per change cost more than the walk) and
 * returns whether anything changed.
 */
export function syncServices(
  synced: SyncedServices,
  model: Model,
  track: (key: string, endpoint: ModelEndpoint, service: ServiceModel) => void,
  forget: (key: string) => void,
): boolean {
  const { byName, last: lastServices } = synced;
  const services = model.services;
  synced.last = services;
  let changed = false;
  for (let i = 0; i < services.length; i++) {
    const service = services[i]!;
    if (lastServices[i] === service) continue;
    const last = byName.get(service.name);
    if (last && last.endpoints === service.endpoints && last.spec === service.spec) continue;
    changed = true;
    const keys = new Set<string>();
    for (const endpoint of service.endpoints) {
      const key = endpointKey(endpoint);
      keys.add(key);
      track(key, endpoint, service);
    }
    for (const key of last?.keys ?? []) if (!keys.has(key)) forget(key);
    byName.set(service.name, { endpoints: service.endpoints, spec: service.spec, keys });
  }
  // Every service of the model is in `byName` now: more entries means some services left.
  if (byName.size === services.length) return changed;
  const names = new Set(services.map((s) => s.name));
  for (const [name, last] of byName) {
    if (names.has(name)) continue;
    byName.delete(name);
    for (const key of last.keys) forget(key);
  }
  return true;
}
