import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FSWatcher } from 'chokidar';
import { describeError, type ErrorCode, FabricError, isRetryable } from '../../src/errors.js';
import type { Model } from '../model.js';
import type { ApplyAction, ApplyReport, Target, TargetContext } from '../target.js';
import { syncReport } from './file-target.js';
import { TemplateResource } from './resource.js';
import { type ConfdLayout, confdLayout, parseResourceFile } from './toml.js';
import { watchFiles } from './watch-files.js';

export interface ConfdirTargetConfig {
  name: string;
  /** `confdir:` from router.yaml (see confdLayout for the two layouts). */
  confdir: string;
  defaultTimeoutMs: number;
}

/** One resource file as last read: its resource, or why it could not be loaded. */
interface Loaded {
  version: string;
  resource?: TemplateResource;
  error?: FabricError;
}

/**
 * confd's template resources: every `*.toml` under the confdir's `conf.d`,
 * one target. Level-triggered: each apply re-reads the directory (a file
 * added, changed or removed since takes effect), and chokidar only asks for
 * that apply when a resource file or a template changes. A removed resource
 * stops being managed; its destination file stays as it is.
 */
export class ConfdirTarget implements Target {
  readonly kind = 'confd';
  readonly name: string;
  private layout: ConfdLayout | undefined;
  private readonly loaded = new Map<string, Loaded>();
  private watcher: FSWatcher | undefined;
  private applied = false;

  constructor(
    private readonly config: ConfdirTargetConfig,
    private readonly context: TargetContext,
  ) {
    this.name = config.name;
  }

  async apply(model: Model): Promise<ApplyReport> {
    const layout = (this.layout ??= confdLayout(this.config.confdir));
    if (!this.context.once) this.watchFiles(layout);
    await this.reconcile(layout);
    const reports: ApplyReport[] = [];
    const failures: Array<{ file: string; err: unknown }> = [];
    for (const [file, entry] of [...this.loaded].sort(([a], [b]) => a.localeCompare(b))) {
      if (entry.error) {
        failures.push({ file, err: entry.error });
        continue;
      }
      try {
        reports.push(syncReport(entry.resource!.spec.dest, await entry.resource!.apply(model)));
      } catch (err) {
        failures.push({ file, err });
      }
    }
    if (this.context.mode !== 'noop') this.applied = true;
    if (failures.length) throw combinedError(failures);
    return combinedReport(reports);
  }

  serving(): boolean {
    return this.applied;
  }

  async stop(): Promise<void> {
    await this.watcher?.close();
    this.watcher = undefined;
    await Promise.all([...this.loaded.values()].map((e) => e.resource?.close()));
    this.loaded.clear();
  }

  /** The resource files now on disk → resources: new ones loaded, changed ones reloaded, removed ones dropped. */
  private async reconcile(layout: ConfdLayout): Promise<void> {
    const files = await resourceFiles(layout.resources);
    for (const [file, entry] of this.loaded) {
      if (files.has(file)) continue;
      this.loaded.delete(file);
      await entry.resource?.close();
      this.context.logger.info({ resource: file, dest: entry.resource?.spec.dest }, 'resource removed; its file is no longer managed');
    }
    for (const [file, version] of files) {
      const current = this.loaded.get(file);
      if (current?.version === version) continue;
      await current?.resource?.close();
      this.loaded.set(file, { version, ...(await this.load(file, layout)) });
      if (!current) this.context.logger.info({ resource: file }, 'resource added');
    }
  }

  private async load(file: string, layout: ConfdLayout): Promise<Omit<Loaded, 'version'>> {
    try {
      const spec = parseResourceFile(file, await readFile(file, 'utf8'), { templates: layout.templates, defaultTimeoutMs: this.config.defaultTimeoutMs });
      const resource = new TemplateResource(spec, {
        etcd: this.context.etcd,
        watchClient: this.context.watchClient,
        logger: this.context.logger.child({ resource: file }),
        mode: this.context.mode,
        once: this.context.once,
        onChange: () => this.context.requestApply(),
      });
      return { resource };
    } catch (err) {
      return { error: err instanceof FabricError ? err : new FabricError('FABRIC_ERR_CONFIG', `${file}: ${describeError(err)}`, { cause: err }) };
    }
  }

  /** Resource files and templates, watched: any change asks for an apply (which re-reads them). */
  private watchFiles(layout: ConfdLayout): void {
    this.watcher ??= watchFiles([layout.resources, layout.templates], 'confdir', this.context.logger, () => this.context.requestApply());
  }
}

/** Every `*.toml` below `dir` (recursively, as confd), with a version that changes when the file does. */
async function resourceFiles(dir: string): Promise<Map<string, string>> {
  let names: string[];
  try {
    names = await readdir(dir, { recursive: true });
  } catch (err) {
    throw new FabricError('FABRIC_ERR_CONFIG', `confdir ${dir}: ${describeError(err)}`, { cause: err });
  }
  const files = new Map<string, string>();
  for (const name of names.filter((n) => n.endsWith('.toml')).sort()) {
    const file = join(dir, name);
    const info = await stat(file).catch(() => undefined);
    if (info?.isFile()) files.set(file, `${info.mtimeMs}:${info.size}:${info.ino}`);
  }
  return files;
}

const ACTION_RANK: ApplyAction[] = ['none', 'write', 'reload'];

function combinedReport(reports: ApplyReport[]): ApplyReport {
  const action = reports.reduce<ApplyAction>((acc, r) => (ACTION_RANK.indexOf(r.action) > ACTION_RANK.indexOf(acc) ? r.action : acc), 'none');
  const details = reports.map((r) => r.detail).filter(Boolean);
  const diffs = reports.flatMap((r) => r.diffs ?? []);
  return { action, ...(details.length ? { detail: details.join('; ') } : {}), ...(diffs.length ? { diffs } : {}) };
}

/** Every failed resource in one error; its code is a retryable one if any is, so the router retries. */
function combinedError(failures: Array<{ file: string; err: unknown }>): FabricError {
  const messages = failures.map(({ file, err }) => {
    const message = describeError(err);
    return message.includes(file) ? message : `${file}: ${message}`;
  });
  const codes = failures.map(({ err }) => (err instanceof FabricError ? err.code : ('FABRIC_ERR_RELOAD' as ErrorCode)));
  const code = failures.length === 1 ? codes[0]! : (codes.find((_code, i) => isRetryable(failures[i]!.err)) ?? codes[0]!);
  return new FabricError(code, messages.join('; '), {
    cause: failures[0]!.err,
    details: { resources: failures.map(({ file }, i) => ({ file, code: codes[i], message: messages[i] })) },
  });
}
