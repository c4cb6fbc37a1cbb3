import { type Model, type ModelEndpoint, type ServingState, servingState } from '../model.js';
import type { HealthSource } from './source.js';
import { endpointKey } from './spec.js';

/** Each service's last view entry, valid while the service object and the checker's version are the same. */
const serviceViews = new WeakMap<object, { checker: HealthSource | undefined; version: number | undefined; listAll: boolean; entry: ServiceEntry }>();

interface ServiceEntry {
  name: string;
  healthy: number;
  total: number;
  endpoints: unknown[];
}

/** Above this many endpoints, the published view lists only the ones that are not healthy. */
const LIST_ALL_UP_TO = 1_000;

/**
 * The health view published in etcd (`status/routers/<id>`): per service the
 * serving count, per endpoint its effective health and check state. Only
 * fields that change with the health itself: no per-check timestamps or
 * counters, so an unchanged view is never rewritten. Above LIST_ALL_UP_TO it
 * lists the endpoints with a problem only (not serving, or a verdict other
 * than healthy), and the services with one (not all of its endpoints serving,
 * or one listed): an endpoint nothing checks (`none`) that serves is no news,
 * and at 100,000 endpoints listing them all made a document over etcd's
 * request limit, rebuilt every second; listing every service still made
 * ~500 KB written at each change (10,000 services), and as much etcd history.
 */
export function healthView(model: Model | undefined, checker: HealthSource | undefined) {
  // The same model under the same check results: the same view object (the publisher keeps its text by identity).
  const last = model && lastViews.get(model);
  if (last && last.checker === checker && last.version === checker?.version) return last.view;
  const view = Object.freeze(buildHealthView(model, checker));
  if (model) lastViews.set(model, { checker, version: checker?.version, view });
  return view;
}

const lastViews = new WeakMap<Model, { checker: HealthSource | undefined; version: number | undefined; view: ReturnType<typeof buildHealthView> }>();

function buildHealthView(model: Model | undefined, checker: HealthSource | undefined) {
  const services = model?.services ?? [];
  const total = services.reduce((n, s) => n + s.endpoints.length, 0);
  const listAll = total <= LIST_ALL_UP_TO;
  const endpointView = (e: ModelEndpoint, health: string, serving: ServingState) => {
    const check = checker?.view(e);
    return {
      endpoint: endpointKey(e),
      address: e.address,
      port: e.port,
      docker: e.health,
      health,
      serving,
      check: check ? { kind: check.kind, state: check.state, since: check.since, lastError: check.lastError ?? null } : null,
    };
  };
  const entries = services.map((service) => {
    // The same service object (the model memo keeps it) under the same check results: the same entry.
    const cached = serviceViews.get(service);
    if (cached && cached.checker === checker && cached.version === checker?.version && cached.listAll === listAll) return cached.entry as ServiceEntry;
    let healthy = 0;
    const endpoints: Array<ReturnType<typeof endpointView>> = [];
    for (const e of service.endpoints) {
      const health = checker?.effectiveHealth(e) ?? e.health;
      const serving = servingState(e);
      if (serving === 'ready') healthy += 1;
      if (listAll || serving !== 'ready' || health === 'unhealthy' || health === 'starting') endpoints.push(endpointView(e, health, serving));
    }
    const entry = { name: service.name, healthy, total: service.endpoints.length, endpoints };
    // Only an entry that lists no endpoint: a listed one's check details (since, lastError) change without a new version.
    if (!listAll && endpoints.length === 0) serviceViews.set(service, { checker, version: checker?.version, listAll, entry });
    return entry;
  });
  return {
    endpoints: total,
    serviceCount: services.length,
    counts: checker?.counts() ?? null,
    truncated: !listAll,
    services: listAll ? entries : entries.filter((e) => e.endpoints.length > 0 || e.healthy < e.total),
  };
}
