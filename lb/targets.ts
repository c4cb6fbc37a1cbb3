import type { RouterConfig } from './config.js';
import { HaproxyTarget } from './haproxy/target.js';
import { templatePath } from './render.js';
import type { Target, TargetContext } from './target.js';

/** Every driver the router can run, built from the config's `targets:` list in order. */
export function createTargets(config: RouterConfig, context: TargetContext): Target[] {
  return config.targets.map((spec, index) => {
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
          },
          log,
          context.requestApply,
        );
    }
  });
}
