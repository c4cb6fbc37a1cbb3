import type { Policies } from '../../src/model/policy/schema.js';
import type { ServiceModel } from '../model/types.js';
import type { RouteModel } from '../routes/model.js';
import { routePolicyContext, servicePolicyContext } from './context.js';
import { haproxyPolicyLines } from './render-haproxy.js';

/** HAProxy policy lines per policies object (a spec's, reused while the spec is unchanged). */
const memo = new WeakMap<Policies, string[]>();

const NONE: string[] = [];

function linesOf(policies: Policies | undefined): string[] {
  if (!policies) return NONE;
  let lines = memo.get(policies);
  if (!lines) memo.set(policies, (lines = haproxyPolicyLines(policies)));
  return lines;
}

/** A service's policies → the lines of its own backend (`svc_<name>`). */
export function servicePolicyLines(service: ServiceModel): string[] {
  return linesOf(servicePolicyContext(service).policies);
}

/** A route's policies → the lines of its backend (`route_<name>`): the same renderer. */
export function routePolicyLines(route: RouteModel): string[] {
  return linesOf(routePolicyContext(route).policies);
}

/** Backends with the same key render the same policy lines ('' for none). */
export function policyKey(policy: readonly string[] | undefined): string {
  return policy && policy.length > 0 ? policy.join('\n') : '';
}
