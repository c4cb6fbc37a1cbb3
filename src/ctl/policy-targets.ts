import type { Namespace } from 'etcd3';
import { etcdCall } from '../etcd-errors.js';
import { Keys } from '../keyspace.js';
import { unsupportedPolicies } from '../model/policy/capabilities.js';
import { policiesOf } from '../model/policy/schema.js';
import type { DocumentError, Resource } from './documents.js';

/** A running router's targets, as it publishes them at `status/routers/<id>`. */
export interface RouterTargets {
  routerId: string;
  targets: Array<{ name: string; kind: string }>;
}

/**
 * Pure: one error per policy a Service or Route sets that a running router's target cannot apply
 * (src/model/policy/capabilities.ts). A policy is never applied by some targets and dropped by others.
 */
export function unsupportedPolicyErrors(resources: Resource[], routers: RouterTargets[]): DocumentError[] {
  const errors: DocumentError[] = [];
  for (const resource of resources) {
    const policies = policiesOf(resource.spec);
    if (!policies && !(resource.kind === 'Service' && resource.spec.proto !== undefined)) continue;
    for (const router of routers) {
      for (const target of router.targets) {
        for (const { policy, reason } of unsupportedPolicies(target.kind, policies, resource.spec)) {
          errors.push({
            origin: resource.origin,
            label: `${resource.kind} ${resource.name}`,
            field: policy,
            reason: `${reason}: target ${target.name} (${target.kind}) of router ${router.routerId} serves this ${resource.kind === 'Route' ? 'route' : 'service'} and cannot apply it`,
          });
        }
      }
    }
  }
  return errors;
}

/** The routers running now, from their status keys (each on its router's lease). */
export async function readRouterTargets(kv: Namespace): Promise<RouterTargets[]> {
  const values = await etcdCall('read', Keys.routerStatusRoot, () => kv.getAll().prefix(Keys.routerStatusRoot).strings());
  const routers: RouterTargets[] = [];
  for (const text of Object.values(values)) {
    try {
      const doc = JSON.parse(text) as { routerId?: unknown; targets?: unknown };
      if (typeof doc.routerId !== 'string' || !Array.isArray(doc.targets)) continue;
      const targets = doc.targets.flatMap((t: { name?: unknown; kind?: unknown }) =>
        typeof t?.name === 'string' && typeof t.kind === 'string' ? [{ name: t.name, kind: t.kind }] : [],
      );
      routers.push({ routerId: doc.routerId, targets });
    } catch {
      // Not a router status document: nothing to check it against.
    }
  }
  return routers;
}
