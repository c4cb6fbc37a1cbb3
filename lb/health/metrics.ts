import type { RouterMetrics } from '../metrics.js';
import type { HealthMetrics } from './checker.js';

/** The checker's metrics, onto the router's registry. */
export function healthMetrics(metrics: RouterMetrics): HealthMetrics {
  return {
    observeCheck(kind, ok, seconds) {
      metrics.healthChecks.inc({ kind, result: ok ? 'success' : 'failure' });
      metrics.healthCheckDuration.observe({ kind }, seconds);
    },
    setEndpointCounts(counts) {
      for (const [health, n] of Object.entries(counts)) metrics.endpointsByHealth.set({ health }, n);
    },
  };
}
