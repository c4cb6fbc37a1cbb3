import type { Logger } from '../../src/log.js';
import type { RouterConfig } from '../config.js';
import type { RouterMetrics } from '../metrics.js';
import { HealthChecker } from './checker.js';
import { healthMetrics } from './metrics.js';

/** The router's health checker, from the router config's `healthCheck:` defaults. */
export function createHealthChecker(config: RouterConfig['healthCheck'], metrics: RouterMetrics, logger: Logger): HealthChecker {
  return new HealthChecker({
    defaults: { intervalMs: config.interval, timeoutMs: config.timeout, rise: config.rise, fall: config.fall, unconfigured: config.unconfigured },
    concurrency: config.concurrency,
    logger: logger.child({ scope: 'health' }),
    metrics: healthMetrics(metrics),
  });
}
