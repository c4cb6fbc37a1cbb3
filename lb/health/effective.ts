import type { Health } from '../../src/model/endpoint.js';
import type { CheckState } from './state.js';

/**
 * An endpoint's health as the router acts on it, Docker's and the active check's together:
 * - `unhealthy`: Docker says unhealthy, or the active check failed (`fall` times, or once before its first success);
 * - `starting`: Docker's HEALTHCHECK has not passed yet;
 * - `healthy`: the active check passed, or Docker says healthy and the check has no result yet;
 * - `unknown`: nothing has spoken yet (no Docker healthcheck, check not run or none configured).
 * Only `unhealthy` and `starting` take an endpoint out of rotation.
 */
export type EffectiveHealth = 'healthy' | 'unhealthy' | 'starting' | 'unknown';

export const EFFECTIVE_HEALTH: readonly EffectiveHealth[] = ['healthy', 'unhealthy', 'starting', 'unknown'];

export function effectiveHealth(docker: Health, check: CheckState | undefined): EffectiveHealth {
  if (docker === 'unhealthy') return 'unhealthy';
  if (docker === 'starting') return 'starting';
  if (check === 'unhealthy') return 'unhealthy';
  if (check === 'healthy' || docker === 'healthy') return 'healthy';
  return 'unknown';
}
