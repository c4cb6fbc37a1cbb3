import { unsupportedPolicies } from '../../src/model/policy/capabilities.js';
import { policiesOf } from '../../src/model/policy/schema.js';
import type { ServiceModel } from '../model/types.js';
import type { RouteModel } from '../routes/model.js';

/** Per services array (a model's, reused while unchanged) and target kind. */
const memo = new WeakMap<readonly ServiceModel[], Map<string, string[]>>();

/**
 * What a target of this kind cannot apply of the services' policies, one line per service and
 * policy: merged into the target's `limitations` in `/v1/status`. `fabric apply` refuses such
 * specs while the router runs; this covers a router started later, or a spec written by hand.
 */
export function policyLimitations(kind: string, services: readonly ServiceModel[]): string[] {
  let byKind = memo.get(services);
  if (!byKind) memo.set(services, (byKind = new Map()));
  let lines = byKind.get(kind);
  if (!lines) {
    lines = [];
    for (const service of services) {
      const policies = policiesOf(service.spec);
      if (!policies) continue;
      for (const { policy, reason } of unsupportedPolicies(kind, policies, service.spec ?? {})) {
        lines.push(`service ${service.name}: ${policy} is ${reason}: this target serves it without`);
      }
    }
    byKind.set(kind, lines);
  }
  return lines;
}

const routeMemo = new WeakMap<readonly RouteModel[], string[]>();

/**
 * Traffic a Route sends to a service goes through the route's own backend, without that
 * service's policies (policies through Routes are not built yet): said for every target, so a
 * policy is never skipped in silence (docs/routing.md).
 */
export function routePolicyLimitations(routes: readonly RouteModel[] | undefined, services: readonly ServiceModel[]): string[] {
  if (!routes || routes.length === 0) return [];
  let lines = routeMemo.get(routes);
  if (!lines) {
    const withPolicies = new Set(services.filter((s) => policiesOf(s.spec)).map((s) => s.name));
    lines = [];
    for (const route of routes) {
      if (!route.active) continue;
      for (const service of new Set(route.spec.backends.map((b) => b.service))) {
        if (withPolicies.has(service))
          lines.push(`route ${route.name}: its traffic to service ${service} goes without the service's traffic policies (not supported yet through a Route)`);
      }
    }
    routeMemo.set(routes, lines);
  }
  return lines;
}
