import type { FSWatcher } from 'chokidar';
import type { FileTargetSpec } from '../config.js';
import type { Model } from '../model.js';
import { engineForPath, templatePath } from '../render.js';
import type { SyncResult } from '../sync.js';
import type { ApplyReport, Target, TargetContext } from '../target.js';
import { normalizePrefix } from './prefix.js';
import { type ResourceSpec, TemplateResource } from './resource.js';
import { watchFiles } from './watch-files.js';

/**
 * `kind: file`: any template over any etcd keys (confd's template resource,
 * declared in router.yaml). It follows its own keys and its template file,
 * and asks the router for an apply when one changes; each apply renders the
 * model and the keys.
 */
export class FileTarget implements Target {
  readonly kind = 'file';
  private readonly resource: TemplateResource;
  private applied = false;
  private watcher: FSWatcher | undefined;

  constructor(
    readonly name: string,
    spec: ResourceSpec,
    private readonly context: TargetContext,
  ) {
    this.resource = new TemplateResource(spec, {
      etcd: context.etcd,
      watchClient: context.watchClient,
      logger: context.logger,
      mode: context.mode,
      once: context.once,
      onChange: () => context.requestApply(),
    });
  }

  async apply(model: Model): Promise<ApplyReport> {
    if (!this.context.once) this.watchTemplate();
    const result = await this.resource.apply(model);
    if (this.context.mode !== 'noop') this.applied = true;
    return syncReport(this.resource.spec.dest, result);
  }

  serving(): boolean {
    return this.applied;
  }

  async stop(): Promise<void> {
    await this.watcher?.close();
    this.watcher = undefined;
    await this.resource.close();
  }

  /** An edited template applies without a restart (the resource re-reads it when its mtime changed). */
  private watchTemplate(): void {
    this.watcher ??= watchFiles([this.resource.spec.template], 'template', this.context.logger, () => this.context.requestApply());
  }
}

/** A SyncResult as the router reports it; the diff travels along for `fabric render --noop`. */
export function syncReport(dest: string, result: SyncResult): ApplyReport {
  if (!result.changed) return { action: 'none' };
  const diffs = result.diff ? [{ dest, diff: result.diff }] : [];
  if (result.action === 'noop') return { action: 'none', detail: `${dest} would change`, diffs };
  return { action: result.action, detail: `${dest} ${result.action === 'reload' ? 'written and reloaded' : 'written'}`, diffs };
}

/** `kind: file` from router.yaml → its target (the template path resolved as every target's). */
export function createFileTarget(name: string, spec: FileTargetSpec, context: TargetContext): FileTarget {
  const template = templatePath(spec.template);
  return new FileTarget(
    name,
    {
      origin: `target ${name}`,
      template,
      engine: spec.engine ?? engineForPath(template),
      dest: spec.dest,
      keys: spec.keys,
      prefix: normalizePrefix(spec.prefix),
      check: spec.check,
      reload: spec.reload,
      mode: spec.mode,
      uid: spec.uid,
      gid: spec.gid,
      timeoutMs: spec.commandTimeout,
    },
    context,
  );
}
