import type { ServiceModel } from '../model/types.js';
import { unsupportedPolicies } from './capabilities.js';
import { policiesOf } from './schema.js';

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
