import { type ServedSpec, unsupportedPolicies } from '../../src/model/policy/capabilities.js';
import { speaksH2c } from '../../src/model/proto.js';
import type { ServiceModel } from '../model/types.js';
import type { RouteModel } from '../routes/model.js';
import { type PolicyContext, routePolicyContext, servicePolicyContext } from './context.js';

/** Per services (or routes) array (a model's, reused while unchanged) and target kind. */
const memo = new WeakMap<readonly object[], Map<string, string[]>>();

/**
 * What a target of this kind cannot apply of the services' and routes' policies, one line per
 * carrier and policy: merged into the target's `limitations` in `/v1/status`. `fabric apply`
 * refuses such specs while the router runs; this covers a router started later, or a spec
 * written by hand.
 */
export function policyLimitations(kind: string, services: readonly ServiceModel[], routes: readonly RouteModel[] = []): string[] {
  return [
    ...memoized(services, kind, () => serviceLines(kind, services)),
    ...memoized(routes, kind, () => routes.filter((r) => r.active).flatMap((r) => unsupportedLines(kind, routePolicyContext(r), r.spec))),
  ];
}

function serviceLines(kind: string, services: readonly ServiceModel[]): string[] {
  const lines: string[] = [];
  for (const service of services) {
    // No spec, no policies and no proto: most services at scale, skipped without a lookup.
    if (service.spec === undefined) continue;
    lines.push(...unsupportedLines(kind, servicePolicyContext(service), service.spec));
  }
  return lines;
}

function unsupportedLines(kind: string, context: PolicyContext, spec: ServedSpec): string[] {
  return unsupportedPolicies(kind, context.policies, spec).map(
    ({ policy, reason }) => `${context.label}: ${policy} is ${reason}: this target serves it without`,
  );
}

function memoized(key: readonly object[], kind: string, build: () => string[]): string[] {
  if (key.length === 0) return [];
  let byKind = memo.get(key);
  if (!byKind) memo.set(key, (byKind = new Map()));
  let lines = byKind.get(kind);
  if (!lines) byKind.set(kind, (lines = build()));
  return lines;
}

const routeMemo = new WeakMap<readonly RouteModel[], string[]>();

/**
 * Traffic a Route sends to a service goes through the route's own backend with the route's
 * policies, not the service's (docs/routing.md, "Policies on Routes"): said for every target
 * whose service has policies of its own, so no one expects them to apply there. Likewise a
 * route's backend speaks HTTP/1.1 to every endpoint, also to an h2c service's (gRPC needs the
 * service's own host).
 */
export function routePolicyLimitations(routes: readonly RouteModel[] | undefined, services: readonly ServiceModel[]): string[] {
  if (!routes || routes.length === 0) return [];
  let lines = routeMemo.get(routes);
  if (!lines) {
    const withPolicies = new Set(services.filter((s) => servicePolicyContext(s).policies).map((s) => s.name));
    const h2c = new Set(services.filter((s) => speaksH2c(s.spec)).map((s) => s.name));
    lines = [];
    for (const route of routes) {
      if (!route.active) continue;
      for (const service of new Set(route.spec.backends.map((b) => b.service))) {
        if (withPolicies.has(service))
          lines.push(
            `route ${route.name}: its traffic to service ${service} goes with the route's traffic policies, not the service's (a Route applies its own: docs/routing.md)`,
          );
        if (h2c.has(service))
          lines.push(
            `route ${route.name}: speaks HTTP/1.1 to service ${service}'s endpoints, not its proto h2c (gRPC through a Route is not supported: docs/routing.md)`,
          );
      }
    }
    routeMemo.set(routes, lines);
  }
  return lines;
}
