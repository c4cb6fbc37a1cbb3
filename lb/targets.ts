import type { RouterConfig } from './config.js';
import { ConfdirTarget } from './confd/confdir-target.js';
import { createFileTarget } from './confd/file-target.js';
import { HaproxyTarget } from './haproxy/target.js';
import { NginxTarget } from './nginx/target.js';
import { templatePath } from './render.js';
import { SlbTarget } from './slb/target.js';
import type { Target, TargetContext } from './target.js';

/** Every driver the router can run, built from the config's `targets:` list in order, then `confdir:`'s resources. */
export function createTargets(config: RouterConfig, context: TargetContext): Target[] {
  const targets: Target[] = config.targets.map((spec, index) => {
    const name = spec.name ?? `${spec.kind}-${index}`;
    const log = context.logger.child({ target: name });
    switch (spec.kind) {
      case 'haproxy':
        return new HaproxyTarget(
          {
            name,
            http: spec.http,
            template: templatePath(spec.template),
            dest: spec.dest,
            manage: spec.manage,
            binary: spec.binary,
            reload: spec.reload,
            runtimeSocket: spec.runtimeSocket,
            hardStopAfter: spec.hardStopAfter,
            maxconn: spec.maxconn,
            commandTimeoutMs: spec.commandTimeout,
            mode: context.mode,
            once: context.once,
          },
          log,
          context.requestApply,
        );
      case 'nginx':
        return new NginxTarget(
          {
            name,
            http: spec.http,
            template: templatePath(spec.template),
            dest: spec.dest,
            manage: spec.manage,
            binary: spec.binary,
            reload: spec.reload,
            minReloadIntervalMs: spec.minReloadInterval,
            workerShutdownTimeout: spec.workerShutdownTimeout,
            commandTimeoutMs: spec.commandTimeout,
          },
          { ...context, logger: log },
        );
      case 'file':
        return createFileTarget(name, spec, { ...context, logger: log });
      case 'slb':
        return new SlbTarget(
          { name, template: templatePath(spec.template), dest: spec.dest, apply: spec.apply, commandTimeoutMs: spec.commandTimeout },
          log,
          context.mode,
        );
    }
  });
  const confdir = config.confdir
    ? new ConfdirTarget({ name: 'confd', confdir: config.confdir, defaultTimeoutMs: 30_000 }, { ...context, logger: context.logger.child({ target: 'confd' }) })
    : null;
  return confdir ? [...targets, confdir] : targets;
}
