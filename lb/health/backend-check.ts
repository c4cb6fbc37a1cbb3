import type { ServiceModel } from '../model.js';
import { type CheckDefaults, type CheckSource, type CheckSpec, resolveCheck } from './spec.js';

/**
 * One service's check as HAProxy runs it: per backend, because HAProxy's
 * `option httpchk` / `http-check send` and `timeout check` are backend
 * settings, and a slot refilled at run time with another endpoint must not
 * need a reload for its `inter`/`rise`/`fall`.
 */
export interface BackendCheck {
  kind: 'http' | 'tcp';
  /** HTTP only: the path HAProxy GETs. */
  path: string | undefined;
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  source: CheckSource;
}

/**
 * Pure: the backend's check, from the same sources as the router's own
 * checker (spec > labels > router defaults). Only labels can differ between
 * endpoints of one service; then the check most endpoints ask for wins (ties:
 * the first in key order), and the others are checked the same way. None
 * when nothing asked for a check and the router's default is `none`.
 */
export function backendCheck(service: Pick<ServiceModel, 'endpoints' | 'spec' | 'mode'>, defaults: CheckDefaults): BackendCheck | undefined {
  if (service.endpoints.length === 0) return specOnlyCheck(service, defaults);
  const votes = new Map<string, { check: BackendCheck; count: number }>();
  let best: { check: BackendCheck; count: number } | undefined;
  for (const endpoint of service.endpoints) {
    const spec = resolveCheck(endpoint, service.spec, defaults);
    if (!spec) continue;
    const check = fromSpec(spec);
    const id = `${check.kind} ${check.path} ${check.intervalMs} ${check.timeoutMs} ${check.rise} ${check.fall} ${check.source}`;
    const vote = votes.get(id) ?? { check, count: 0 };
    vote.count += 1;
    votes.set(id, vote);
    if (!best || vote.count > best.count) best = vote;
  }
  return best?.check;
}

/** The same check as HAProxy runs it (`source` aside): `option httpchk`, `timeout check`, `inter`/`rise`/`fall` cannot change at run time. */
export function sameBackendCheck(a: BackendCheck | undefined, b: BackendCheck | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.kind === b.kind && a.path === b.path && a.intervalMs === b.intervalMs && a.timeoutMs === b.timeoutMs && a.rise === b.rise && a.fall === b.fall;
}

/** Pure: what one endpoint's check is when HAProxy runs its backend's check on it. */
export function endpointCheckSpec(endpoint: { address: string; port: number }, check: BackendCheck): CheckSpec {
  return { ...check, address: endpoint.address, port: endpoint.port };
}

function fromSpec(spec: CheckSpec): BackendCheck {
  return { kind: spec.kind, path: spec.path, intervalMs: spec.intervalMs, timeoutMs: spec.timeoutMs, rise: spec.rise, fall: spec.fall, source: spec.source };
}

/** A service with no endpoint yet: its backend still gets the check its endpoints will get from the spec or the defaults. */
function specOnlyCheck(service: Pick<ServiceModel, 'spec' | 'mode'>, defaults: CheckDefaults): BackendCheck | undefined {
  const fromSpec = service.spec?.healthCheck;
  if (!fromSpec && defaults.unconfigured === 'none') return undefined;
  const path = service.mode === 'http' ? fromSpec?.path : undefined;
  return {
    kind: path ? 'http' : 'tcp',
    path,
    intervalMs: fromSpec?.interval ?? defaults.intervalMs,
    timeoutMs: fromSpec?.timeout ?? defaults.timeoutMs,
    rise: fromSpec?.rise ?? defaults.rise,
    fall: fromSpec?.fall ?? defaults.fall,
    source: fromSpec ? 'spec' : 'default',
  };
}
