import type { ModelEndpoint, ServingState } from './types.js';

/**
 * How an endpoint is served: only healthy (or unchecked) endpoints that are up get new requests.
 * Docker's health and the router's active check both count: either saying unhealthy takes it out.
 */
export function servingState(endpoint: ModelEndpoint): ServingState {
  if (endpoint.health === 'unhealthy' || endpoint.health === 'starting') return 'maint';
  if (endpoint.activeHealth === 'unhealthy') return 'maint';
  return endpoint.state === 'draining' ? 'drain' : 'ready';
}
