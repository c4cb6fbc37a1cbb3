import type { Logger } from '../../src/log.js';
import type { RouterConfig } from '../config.js';
import type { RouterMetrics } from '../metrics.js';
import type { Target } from '../target.js';
import { HealthChecker } from './checker.js';
import { type CheckedHaproxy, HaproxyChecks } from './haproxy-checks.js';
import { healthMetrics } from './metrics.js';
import type { CheckRunner, HealthSource } from './source.js';
import type { CheckDefaults } from './spec.js';

/** The router config's `healthCheck:` as the checks' defaults. */
export function checkDefaults(config: RouterConfig['healthCheck']): CheckDefaults {
  return { intervalMs: config.interval, timeoutMs: config.timeout, rise: config.rise, fall: config.fall, unconfigured: config.unconfigured };
}

/**
 * Pure: who runs the checks. HAProxy, where it is cheapest, when the router drives one whose admin
 * socket it can read (managed, or `runtimeSocket` given); otherwise (nginx, SLB, files only) the router.
 */
export function checkRunner(config: Pick<RouterConfig, 'healthCheck' | 'targets'>): CheckRunner {
  if (config.healthCheck.runner === 'router') return 'router';
  const readable = config.targets.some((t) => t.kind === 'haproxy' && (t.manage || t.runtimeSocket !== undefined));
  return readable ? 'haproxy' : 'router';
}

/** The router's health source: HAProxy's checks read back, or the router's own checker. */
export function createHealthSource(config: RouterConfig, targets: Target[], metrics: RouterMetrics, logger: Logger): HealthSource {
  const health = healthMetrics(metrics);
  const haproxy = targets.find(isCheckedHaproxy);
  if (haproxy) {
    return new HaproxyChecks({
      defaults: checkDefaults(config.healthCheck),
      haproxy,
      logger: logger.child({ scope: 'health', runner: 'haproxy' }),
      metrics: health,
      // Traffic rides on this read (lb/traffic): one `show stat` per tick, at traffic's pace.
      ...(config.traffic.enabled ? { readIntervalMs: config.traffic.sampleInterval } : {}),
    });
  }
  return new HealthChecker({
    defaults: checkDefaults(config.healthCheck),
    concurrency: config.healthCheck.concurrency,
    logger: logger.child({ scope: 'health' }),
    metrics: health,
  });
}

function isCheckedHaproxy(target: Target): target is Target & CheckedHaproxy {
  const candidate = target as Target & Partial<CheckedHaproxy> & { runsChecks?: boolean };
  return target.kind === 'haproxy' && candidate.runsChecks === true && typeof candidate.appliedDesired === 'function';
}
