import { type Model, servingState } from '../model.js';
import type { HealthSource } from './source.js';
import { endpointKey } from './spec.js';

/** Above this many endpoints, the published view lists only the ones that are not healthy. */
const LIST_ALL_UP_TO = 1_000;

/**
 * The health view published in etcd (`status/routers/<id>`): per service the
 * serving count, per endpoint its effective health and check state. Only
 * fields that change with the health itself: no per-check timestamps or
 * counters, so an unchanged view is never rewritten.
 */
export function healthView(model: Model | undefined, checker: HealthSource | undefined) {
  const services = model?.services ?? [];
  const total = services.reduce((n, s) => n + s.endpoints.length, 0);
  const listAll = total <= LIST_ALL_UP_TO;
  return {
    endpoints: total,
    counts: checker?.counts() ?? null,
    truncated: !listAll,
    services: services.map((service) => {
      const endpoints = service.endpoints.map((e) => {
        const check = checker?.view(e);
        return {
          endpoint: endpointKey(e),
          address: e.address,
          port: e.port,
          docker: e.health,
          health: checker?.effectiveHealth(e) ?? e.health,
          serving: servingState(e),
          check: check ? { kind: check.kind, state: check.state, since: check.since, lastError: check.lastError ?? null } : null,
        };
      });
      return {
        name: service.name,
        healthy: endpoints.filter((e) => e.serving === 'ready').length,
        total: endpoints.length,
        endpoints: listAll ? endpoints : endpoints.filter((e) => e.health !== 'healthy'),
      };
    }),
  };
}
