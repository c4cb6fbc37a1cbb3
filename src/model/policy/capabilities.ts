import { POLICY_NAMES, type Policies, type PolicyName, policyNames } from './schema.js';

/**
 * Which target kind applies which policy (docs/routing.md has the same table). A target that
 * serves a service or route but cannot apply one of its policies is reported, never silently serving it
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

/**
 * Which target kind speaks `proto: h2c` to endpoints (src/model/proto.ts). Only HAProxy (`proto h2`
 * on the server lines). nginx 1.22 would need `grpc_pass` and a grpc_* twin of every proxy_* policy
 * directive; a file/confd template or a cloud load balancer gets no say from fabric.
 */
const SPEAKS_H2C: ReadonlySet<TargetKind> = new Set(['haproxy']);

const H2C_REASONS: Partial<Record<TargetKind, string>> = {
  nginx: 'not supported by nginx targets (nginx speaks HTTP/1.1 to endpoints; gRPC would need grpc_pass)',
};

/** What of a Service or Route spec decides whether a target serves it, and how. */
export interface ServedSpec {
  kind?: 'Service' | 'Route' | undefined;
  slb?: string | undefined;
  proto?: string | undefined;
}

/** Does a target of this kind serve this Service or Route at all? SLB targets serve only services with an `slb` id (never a Route). */
export function servesSpec(kind: string, spec: ServedSpec): boolean {
  if (kind === 'slb') return spec.slb !== undefined;
  return true;
}

export interface Unsupported {
  /** The spec field: a policy, or `proto`. */
  policy: PolicyName | 'proto';
  reason: string;
}

/** The policies (and `proto: h2c`) of a Service or Route spec a target of this kind cannot apply. */
export function unsupportedPolicies(kind: string, policies: Policies | undefined, spec: ServedSpec = {}): Unsupported[] {
  if (!servesSpec(kind, spec)) return [];
  const out: Unsupported[] = policyNames(policies)
    .filter((policy) => !supports(kind, policy))
    .map((policy) => ({ policy, reason: `not supported by ${kind} targets` }));
  if (spec.proto === 'h2c' && !SPEAKS_H2C.has(kind as TargetKind)) {
    out.push({ policy: 'proto', reason: H2C_REASONS[kind as TargetKind] ?? `not supported by ${kind} targets (h2c to endpoints)` });
  }
  return out;
}
