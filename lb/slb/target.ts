import { readdir, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { runCommand } from '../../src/command.js';
import { describeError, type ErrorCode, FabricError, isRetryable } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import type { Model } from '../model.js';
import { createTemplateEngine, loadTemplate, type TemplateFn } from '../render.js';
import { expandCommand, type FileSpec, type SyncMode, syncFile } from '../sync.js';
import type { ApplyReport, DriverContext, Target } from '../target.js';
import { type SlbView, slbViews } from './view.js';

export interface SlbTargetConfig {
  name: string;
  template: string;
  /** Per load balancer: `{{slb}}` is its id. */
  dest: string;
  /** Pushes one list to the cloud: `{{src}}` is the file, `{{slb}}` the id. */
  apply: string;
  commandTimeoutMs: number;
}

type Result = 'unchanged' | 'applied' | 'written' | 'retired' | 'noop';

/** What one load balancer's apply did; `diff` when its file changed (or, with `--noop`, would). */
interface Step {
  result: Result;
  diff?: { dest: string; diff: string };
}

/** One load balancer's outcome in an apply. */
type Outcome = ({ id: string } & Step) | { id: string; result: 'failed'; error: unknown };

const SLB_ID = '[A-Za-z0-9][A-Za-z0-9_.-]{0,127}';

/**
 * The cloud load balancer driver: for each load balancer a Service names
 * (`slb:`), render → (compare with what the LB was last told) → stage → swap →
 * apply. `applied` remembers, per id, the list whose apply command succeeded:
 * a failed apply leaves the new file swapped in but the id out of `applied`,
 * so the retry runs the command again, for that id only. A load balancer no
 * service names any more is retired: sent an empty list once, then its file
 * is removed.
 */
export class SlbTarget implements Target {
  readonly kind = 'slb';
  readonly name: string;
  private readonly logger: Logger;
  private readonly mode: SyncMode;
  private template: TemplateFn | undefined;
  private readonly applied = new Map<string, string>();
  /** Ids whose files a previous run left behind (read once): retired unless still named. */
  private leftovers: Set<string> | undefined;

  constructor(
    private readonly config: SlbTargetConfig,
    context: Pick<DriverContext, 'logger' | 'mode'>,
  ) {
    this.name = config.name;
    this.logger = context.logger;
    this.mode = context.mode;
    if (!config.dest.includes('{{slb}}')) throw new FabricError('FABRIC_ERR_CONFIG', `slb target ${config.name}: dest must contain {{slb}}`);
  }

  serving(): boolean {
    return true; // nothing runs here: the cloud serves; failures show as lastError
  }

  async stop(): Promise<void> {}

  async apply(model: Model): Promise<ApplyReport> {
    const template = (this.template ??= await loadTemplate(createTemplateEngine(), this.config.template));
    this.leftovers ??= await this.findLeftovers();
    const desired = slbViews(model);
    const outcomes: Outcome[] = [];
    for (const [id, view] of desired) outcomes.push(await this.settle(id, () => this.applyOne(id, template(view))));
    for (const id of this.retiring(desired)) {
      outcomes.push(await this.settle(id, () => this.retire(id, template({ slb: id, services: [], servers: [] } satisfies SlbView))));
    }
    return report(outcomes);
  }

  /** Render → compare → stage → swap → apply, for one load balancer. */
  private async applyOne(id: string, content: string): Promise<Step> {
    if (this.applied.get(id) === content) return { result: 'unchanged' };
    validateJson(id, content);
    const spec = this.fileSpec(id);
    const sync = await syncFile(spec, content, this.mode);
    const diff = sync.changed ? { dest: spec.dest, diff: sync.diff } : undefined;
    if (this.mode === 'noop') return { result: sync.changed ? 'noop' : 'unchanged', diff };
    // The file is already right but the LB was never told (its apply failed, or the router restarted).
    if (this.mode === 'normal' && !sync.changed)
      await runCommand(expandCommand(this.config.apply, { src: spec.dest, dest: spec.dest, slb: id }), { timeoutMs: spec.timeoutMs });
    this.applied.set(id, content);
    return { result: this.mode === 'normal' ? 'applied' : 'written', diff };
  }

  /** An empty list, applied once, then the file goes. */
  private async retire(id: string, emptyList: string): Promise<Step> {
    const step = await this.applyOne(id, emptyList);
    if (this.mode === 'noop') return step;
    await rm(this.fileSpec(id).dest, { force: true });
    this.applied.delete(id);
    this.leftovers?.delete(id);
    return { ...step, result: 'retired' };
  }

  private async settle(id: string, run: () => Promise<Step>): Promise<Outcome> {
    try {
      return { id, ...(await run()) };
    } catch (error) {
      this.applied.delete(id); // what the LB holds is unknown now: the next apply runs the command again
      this.logger.error({ slb: id, err: describeError(error) }, 'load balancer not updated; will retry');
      return { id, result: 'failed', error };
    }
  }

  private retiring(desired: Map<string, SlbView>): string[] {
    return [...new Set([...this.applied.keys(), ...(this.leftovers ?? [])])].filter((id) => !desired.has(id)).sort();
  }

  private fileSpec(id: string): FileSpec {
    return {
      dest: this.config.dest.replaceAll('{{slb}}', id),
      reload: this.config.apply,
      timeoutMs: this.config.commandTimeoutMs,
      vars: { slb: id },
    };
  }

  /** Files matching `dest` that a previous run left: their load balancers were told something once. */
  private async findLeftovers(): Promise<Set<string>> {
    const dir = dirname(this.config.dest);
    if (dir.includes('{{slb}}')) return new Set();
    const pattern = new RegExp(`^${basename(this.config.dest).split('{{slb}}').map(escapeRegExp).join(`(${SLB_ID})`)}$`);
    const names = await readdir(dir).catch(() => [] as string[]);
    const ids = names.flatMap((n) => {
      const m = pattern.exec(n);
      return m?.slice(1).every((v) => v === m[1]) ? [m[1]!] : [];
    });
    return new Set(ids);
  }
}

function validateJson(id: string, content: string): void {
  try {
    JSON.parse(content);
  } catch (err) {
    throw new FabricError('FABRIC_ERR_VALIDATE', `slb ${id}: the rendered backend list is not JSON: ${describeError(err)}`);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** All load balancers' outcomes → one report, or one error naming each one that failed. */
function report(outcomes: Outcome[]): ApplyReport {
  const failed = outcomes.filter((o): o is Extract<Outcome, { result: 'failed' }> => o.result === 'failed');
  if (failed.length) {
    const parts = failed.map((f) => ({ code: codeOf(f.error), message: `slb ${f.id}: ${describeError(f.error)}` }));
    // Retry if any failure can be helped by retrying; the others are retried with it, harmlessly.
    const code = codeOf((failed.find((f) => isRetryable(f.error)) ?? failed[0]!).error);
    throw new FabricError(code, parts.map((p) => p.message).join('; '), { details: { failed: failed.map((f) => f.id), resources: parts } });
  }
  const diffs = outcomes.flatMap((o) => ('diff' in o && o.diff ? [o.diff] : []));
  const did = (result: Result) => outcomes.filter((o) => o.result === result).map((o) => o.id);
  const detail = (
    [
      ['applied', did('applied')],
      ['wrote', did('written')],
      ['retired', did('retired')],
    ] as const
  )
    .filter(([, ids]) => ids.length)
    .map(([verb, ids]) => `${verb} ${ids.join(', ')}`)
    .join('; ');
  const withDiffs = diffs.length ? { diffs } : {};
  if (/applied|retired/.test(detail)) return { action: 'reload', detail, ...withDiffs };
  if (detail) return { action: 'write', detail, ...withDiffs };
  return { action: 'none', ...withDiffs };
}

function codeOf(error: unknown): ErrorCode {
  return error instanceof FabricError ? error.code : 'FABRIC_ERR_COMMAND_FAILED';
}
