import { POLICY_NAMES, type Policies, type PolicyName, policyNames } from './schema.js';

/**
 * Which target kind applies which policy (docs/routing.md has the same table). A target that
 * serves a service but cannot apply one of its policies is reported, never silently serving it
 * without: `fabric apply` refuses, and the router's status lists it.
 */
export type TargetKind = 'haproxy' | 'nginx' | 'file' | 'slb' | 'confd';

const SUPPORTED: Record<TargetKind, ReadonlySet<PolicyName>> = {
  // Both proxies apply every policy (each renders its own directives: lb/policy/).
  haproxy: new Set(POLICY_NAMES),
  nginx: new Set(POLICY_NAMES),
  // A file/confd template renders whatever it is written to; fabric cannot know it applies a policy.
  file: new Set(),
  confd: new Set(),
  // A cloud load balancer gets a backend list only.
  slb: new Set(),
};

export function supports(kind: string, policy: PolicyName): boolean {
  return SUPPORTED[kind as TargetKind]?.has(policy) ?? false;
}

/** Does a target of this kind serve this service at all? SLB targets serve only services with an `slb` id; HAProxy/nginx only HTTP for these policies. */
export function servesService(kind: string, service: { slb?: string | undefined }): boolean {
  if (kind === 'slb') return service.slb !== undefined;
  return true;
}

export interface Unsupported {
  policy: PolicyName;
  reason: string;
}

/** The policies of a service a target of this kind cannot apply. */
export function unsupportedPolicies(kind: string, policies: Policies | undefined, service: { slb?: string | undefined } = {}): Unsupported[] {
  if (!servesService(kind, service)) return [];
  return policyNames(policies)
    .filter((policy) => !supports(kind, policy))
    .map((policy) => ({ policy, reason: `not supported by ${kind} targets` }));
}
