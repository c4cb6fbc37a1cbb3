import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Backoff, delay } from '../../src/backoff.js';
import { FabricError } from '../../src/errors.js';
import { readIfExists } from '../../src/files.js';
import type { Model } from '../model.js';
import { createTemplateEngine, loadTemplate, type TemplateFn } from '../render.js';
import { checkFile, type FileSpec, type SyncResult, syncFile } from '../sync.js';
import type { ApplyReport, DriverContext, ManagedTargetConfig, Target } from '../target.js';
import { fatalLinesSince, logOffset, servedVersion } from './control.js';
import { NginxMaster } from './master.js';
import { ReloadPacer } from './pacer.js';
import { isNginx } from './procfs.js';
import { type NginxPaths, nginxPaths, nginxView, renderNginx } from './view.js';

export interface NginxTargetConfig extends ManagedTargetConfig {
  /** Reloads are at least this far apart; a burst waits and is folded into one. */
  minReloadIntervalMs: number;
  workerShutdownTimeout: string;
}

interface Rendered {
  content: string;
  version: string;
}

/** A crash-looping nginx is restarted no faster than this; a run this long resets the backoff. */
const RESTART_BACKOFF = { initialMs: 500, maxMs: 30_000, stableMs: 30_000 };

/**
 * The nginx driver. Its apply path, in order:
 * render → compare → (wait out minReloadInterval) → stage → validate (nginx -t) → swap → reload → verify.
 * nginx open source has no runtime API: every change of the upstreams is a reload, which is why
 * reloads are paced, and why the rendered upstreams list only endpoints the router calls ready.
 */
export class NginxTarget implements Target {
  readonly kind = 'nginx';
  readonly name: string;
  private readonly paths: NginxPaths;
  private readonly master: NginxMaster | undefined;
  private readonly pacer: ReloadPacer;
  private readonly restarts = new Backoff(RESTART_BACKOFF.initialMs, RESTART_BACKOFF.maxMs);
  private template: TemplateFn | undefined;
  /** Version of the config nginx was last confirmed (or, unmanaged, told) to run. */
  private applied: string | undefined;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private pacedTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: NginxTargetConfig,
    private readonly context: DriverContext,
  ) {
    this.name = config.name;
    this.paths = nginxPaths(config.dest, dirname(config.dest));
    this.pacer = new ReloadPacer(config.minReloadIntervalMs);
    // `fabric render --once` and confd's other modes never start a process.
    if (config.manage && !context.once && context.mode === 'normal') {
      this.master = new NginxMaster({ binary: config.binary, paths: this.paths, logger: context.logger, confirmTimeoutMs: config.commandTimeoutMs });
      this.master.on('exit', () => this.onUnexpectedExit());
    }
  }

  get masterState(): string {
    return this.master?.state ?? 'unmanaged';
  }

  serving(): boolean {
    return this.master ? this.master.state === 'running' || this.master.state === 'reloading' : this.applied !== undefined;
  }

  async apply(model: Model): Promise<ApplyReport> {
    const rendered = await this.render(model);
    if (this.context.mode !== 'normal') return this.writeOnly(rendered);
    return this.master ? this.applyManaged(this.master, rendered) : this.applyUnmanaged(rendered);
  }

  async resume(): Promise<void> {
    if (!this.master || (this.master.state !== 'stopped' && this.master.state !== 'exited')) return;
    if (!(await readIfExists(this.paths.config))) return;
    await this.prepareDirs();
    await this.validate(this.paths.config);
    this.applied = await this.start(this.master);
    this.context.logger.info({ config: this.paths.config }, 'serving the last good config until etcd answers');
  }

  async stop(): Promise<void> {
    clearTimeout(this.restartTimer);
    clearTimeout(this.pacedTimer);
    await this.master?.stop();
  }

  private async render(model: Model): Promise<Rendered> {
    const template = (this.template ??= await loadTemplate(createTemplateEngine(), this.config.template));
    const settings = { http: this.config.http, workerShutdownTimeout: this.config.workerShutdownTimeout };
    return renderNginx(template, nginxView(model, this.paths, settings));
  }

  /** The router runs nginx: render → compare → pace → stage → validate → swap → reload|start → verify. */
  private async applyManaged(master: NginxMaster, rendered: Rendered): Promise<ApplyReport> {
    if (this.serving() && this.applied === rendered.version) return { action: 'none' };
    if (!rendered.content.includes(rendered.version)) {
      throw new FabricError(
        'FABRIC_ERR_RENDER',
        'the nginx template must serve {{control.version}} on {{control.socket}}: the router confirms each reload through it',
      );
    }
    const running = master.state === 'running';
    if (running) {
      const deferred = this.deferWhilePaced();
      if (deferred) return deferred;
    }
    await this.prepareDirs();
    const result = await syncFile(this.fileSpec(undefined), rendered.content, 'normal');
    const diffs = result.changed ? [{ dest: this.paths.config, diff: result.diff }] : undefined;
    if (running) {
      this.pacer.mark();
      await master.reload(rendered.version);
      this.applied = rendered.version;
      return { action: 'reload', detail: reloadDetail(result), diffs };
    }
    // Not running (first apply, or nginx died): an unchanged file on disk was validated when written; check it again anyway.
    if (!result.changed) await this.validate(this.paths.config);
    this.applied = await this.start(master, rendered.version);
    return { action: 'start', detail: 'nginx started', diffs };
  }

  /**
   * Someone else runs nginx (manage: false), or `fabric render --once`: stage → validate → swap →
   * the `reload` command; with neither, an nginx running on this config (its pid file) gets SIGHUP.
   */
  private async applyUnmanaged(rendered: Rendered): Promise<ApplyReport> {
    const current = (await readIfExists(this.paths.config))?.toString('utf8');
    if (current === rendered.content) {
      this.applied = rendered.version;
      return { action: 'none' };
    }
    const reloads = this.config.reload !== undefined || (await this.runningPid()) !== undefined;
    const deferred = reloads ? this.deferWhilePaced() : undefined;
    if (deferred) return deferred;
    await this.prepareDirs();
    const result = await syncFile(this.fileSpec(this.config.reload), rendered.content, 'normal');
    const diffs = result.changed ? [{ dest: this.paths.config, diff: result.diff }] : undefined;
    this.applied = rendered.version;
    if (result.changed && result.action === 'reload') {
      this.pacer.mark();
      return { action: 'reload', detail: reloadDetail(result), diffs };
    }
    if (result.changed && this.config.reload === undefined && (await this.signalRunning(rendered.version))) {
      this.pacer.mark();
      return { action: 'reload', detail: reloadDetail(result), diffs };
    }
    return { action: result.changed ? 'write' : 'none', diffs };
  }

  /** confd's `noop` (report the diff) and `sync-only` (write, no check, no reload). */
  private async writeOnly(rendered: Rendered): Promise<ApplyReport> {
    if (this.context.mode === 'sync-only') await this.prepareDirs();
    const result = await syncFile(this.fileSpec(undefined), rendered.content, this.context.mode);
    if (!result.changed) return { action: 'none' };
    const diffs = [{ dest: this.paths.config, diff: result.diff }];
    return result.action === 'noop' ? { action: 'none', detail: 'noop: config differs', diffs } : { action: 'write', diffs };
  }

  private fileSpec(reload: string | undefined): FileSpec {
    return {
      dest: this.paths.config,
      check: `{{binary}} -t -q -p {{prefix}} -e {{errorLog}} -c {{src}}`,
      reload,
      timeoutMs: this.config.commandTimeoutMs,
      vars: { binary: this.config.binary, prefix: `${this.paths.dir}/`, errorLog: this.paths.errorLog },
    };
  }

  /**
   * Too soon after the last reload: instead of waiting inside this apply (and then reloading the
   * model as it was before the wait, while holding up every other target), ask for a fresh apply
   * once the interval is over. Changes arriving meanwhile are folded into that one reload.
   */
  private deferWhilePaced(): ApplyReport | undefined {
    const remaining = this.pacer.remaining();
    if (remaining <= 0) return undefined;
    if (!this.pacedTimer) {
      this.pacedTimer = setTimeout(() => {
        this.pacedTimer = undefined;
        this.context.requestApply();
      }, remaining);
    }
    return { action: 'deferred', detail: `next reload in ${remaining} ms (minReloadInterval)` };
  }

  /** `nginx -t` on a file already in place (before a start). */
  private async validate(path: string): Promise<void> {
    await checkFile(path, this.fileSpec(undefined), `nginx -t rejected ${path}`);
  }

  /** A start leaves no old workers behind, so it does not hold back the next reload (restarts have their own backoff). */
  private async start(master: NginxMaster, version?: string): Promise<string> {
    const served = await master.start(version);
    this.startedAt = Date.now();
    return served;
  }

  /** nginx writes its temp dirs, logs and pid below the config's directory; their parents must exist. */
  private async prepareDirs(): Promise<void> {
    for (const path of [this.paths.pid, this.paths.errorLog, this.paths.temp.proxy]) await mkdir(dirname(path), { recursive: true });
  }

  /** nginx died under us: start it again at the next apply, after a backoff if it keeps dying. */
  private onUnexpectedExit(): void {
    this.applied = undefined;
    if (Date.now() - this.startedAt >= RESTART_BACKOFF.stableMs) this.restarts.reset();
    const wait = this.restarts.next();
    this.context.logger.warn({ restartInMs: wait }, 'nginx will be restarted');
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => this.context.requestApply(), wait);
  }

  /** The pid of an nginx running on this config (per its pid file), if any. */
  private async runningPid(): Promise<number | undefined> {
    const pid = Number((await readFile(this.paths.pid, 'utf8').catch(() => '')).trim());
    return pid > 0 && isNginx(pid) ? pid : undefined;
  }

  /** SIGHUP to an nginx someone else started on this config, confirmed like a managed reload. */
  private async signalRunning(version: string): Promise<boolean> {
    const pid = await this.runningPid();
    if (pid === undefined) return false;
    const offset = await logOffset(this.paths.errorLog);
    process.kill(pid, 'SIGHUP');
    const deadline = Date.now() + this.config.commandTimeoutMs;
    while (Date.now() < deadline) {
      if ((await servedVersion(this.paths.controlSocket).catch(() => undefined)) === version) return true;
      const fatal = await fatalLinesSince(this.paths.errorLog, offset);
      if (fatal.length > 0) throw new FabricError('FABRIC_ERR_RELOAD', `nginx (pid ${pid}) refused the reload: ${fatal.slice(-3).join(' | ')}`);
      await delay(10);
    }
    throw new FabricError('FABRIC_ERR_RELOAD', `nginx (pid ${pid}) did not confirm the reload within ${this.config.commandTimeoutMs} ms`);
  }
}

function reloadDetail(result: SyncResult): string {
  const lines = result.changed ? result.diff.split('\n').filter((l) => /^[+-](?![+-]{2} )/.test(l)).length : 0;
  return result.changed ? `${lines} config lines changed` : 'config on disk was not yet served';
}
