import { ConfdirTarget } from './confd/confdir-target.js';
import { createFileTarget } from './confd/file-target.js';
import type { HaproxyTargetSpec, NginxTargetSpec, RouterConfig, TargetSpec } from './config.js';
import { HaproxyTarget } from './haproxy/target.js';
import { checkDefaults, checkRunner } from './health/create.js';
import type { CheckDefaults } from './health/spec.js';
import { NginxTarget } from './nginx/target.js';
import { templatePath } from './render.js';
import { SlbTarget } from './slb/target.js';
import type { ManagedTargetConfig, Target, TargetContext } from './target.js';

/**
 * Every driver the router can run, in one visible list: the config's
 * `targets:` in order, then `confdir:`'s resources. Each gets the same context.
 */
export function createTargets(config: RouterConfig, context: TargetContext): Target[] {
  // Where HAProxy runs the health checks, every HAProxy target renders them (lb/health/create.ts).
  const checks = checkRunner(config) === 'haproxy' ? checkDefaults(config.healthCheck) : undefined;
  const targets = config.targets.map((spec, index) => {
    const name = spec.name ?? `${spec.kind}-${index}`;
    return createTarget(spec, name, { ...context, logger: context.logger.child({ target: name }) }, checks, config.trustedProxies);
  });
  const confdir = config.confdir
    ? new ConfdirTarget({ name: 'confd', confdir: config.confdir, defaultTimeoutMs: 30_000 }, { ...context, logger: context.logger.child({ target: 'confd' }) })
    : null;
  return confdir ? [...targets, confdir] : targets;
}

/** One driver for one `targets:` entry. */
function createTarget(spec: TargetSpec, name: string, driver: TargetContext, checks: CheckDefaults | undefined, trustedProxies: readonly string[]): Target {
  switch (spec.kind) {
    case 'haproxy':
      return new HaproxyTarget(
        {
          ...managed(name, spec, trustedProxies),
          runtimeSocket: spec.runtimeSocket,
          hardStopAfter: spec.hardStopAfter,
          maxconn: spec.maxconn,
          ...(spec.prometheus ? { prometheus: spec.prometheus } : {}),
          spares: spec.spares,
          ...(checks ? { checks } : {}),
        },
        driver,
      );
    case 'nginx':
      return new NginxTarget(
        {
          ...managed(name, spec, trustedProxies),
          minReloadIntervalMs: spec.minReloadInterval,
          workerShutdownTimeout: spec.workerShutdownTimeout,
          dynamic: spec.dynamic,
          modulesDir: spec.modulesDir,
        },
        driver,
      );
    case 'file':
      return createFileTarget(name, spec, driver);
    case 'slb':
      return new SlbTarget({ name, template: templatePath(spec.template), dest: spec.dest, apply: spec.apply, commandTimeoutMs: spec.commandTimeout }, driver);
  }
}

/** The part of a load balancer's spec every process-managed driver reads. */
function managed(name: string, spec: HaproxyTargetSpec | NginxTargetSpec, trustedProxies: readonly string[]): ManagedTargetConfig {
  return {
    ...(trustedProxies.length > 0 ? { trustedProxies } : {}),
    name,
    http: spec.http,
    https: spec.https,
    template: templatePath(spec.template),
    dest: spec.dest,
    manage: spec.manage,
    binary: spec.binary,
    reload: spec.reload,
    commandTimeoutMs: spec.commandTimeout,
  };
}
