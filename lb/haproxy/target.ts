import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runCommand } from '../../src/command.js';
import { describeError } from '../../src/errors.js';
import { readIfExists, type StagedFile, stageFile, writeAtomic } from '../../src/files.js';
import type { Logger } from '../../src/log.js';
import { childPids, stopPid } from '../../src/proc.js';
import { DeferredWrite } from '../deferred-write.js';
import { backendCheck } from '../health/backend-check.js';
import type { CheckDefaults } from '../health/spec.js';
import type { Model } from '../model.js';
import { createTemplateEngine, loadTemplate, type TemplateFn } from '../render.js';
import { ThreadRenderer } from '../render-worker/renderer.js';
import { checkFile, syncFile } from '../sync.js';
import type { ApplyReport, DriverContext, ExitIntent, ManagedTargetConfig, Target } from '../target.js';
import type { TlsDesired } from '../tls/haproxy-desired.js';
import { HaproxyTls } from '../tls/haproxy-tls.js';
import { CertVault } from '../tls/vault.js';
import { StepClock } from '../trace/step-clock.js';
import { adoptSlots, findRunning, readRuntime, runningDesired } from './adopt.js';
import { DesiredMemo, desiredHaproxy, type HaproxyDesired, type SlotTable } from './desired.js';
import { diffHaproxy, type RuntimeOp } from './diff.js';
import { processHardFdLimit } from './fd-limit.js';
import { checkedServerCount, passiveCheckInterMs, planDescriptors, uncheckedSlotCount } from './limits.js';
import { forgetLoaded, readLoaded, writeLoaded } from './loaded.js';
import { HaproxyMaster } from './master.js';
import { applyRuntimeOps } from './runtime.js';
import { type BackendPool, type PoolPlan, type PoolSettings, poolFromRunning } from './spares.js';
import { type BackendViews, type HaproxyFiles, haproxyView, renderMap } from './view.js';

export interface HaproxyTargetConfig extends ManagedTargetConfig {
  /** With manage: false, an admin socket enables the no-reload fast path. */
  runtimeSocket: string | undefined;
  hardStopAfter: string;
  maxconn: number | undefined;
  /** HAProxy's own Prometheus exporter on this loopback `HOST:PORT` (`/metrics`); absent: off. */
  prometheus?: string;
  /** Free spare backends after each reload (lb/haproxy/spares.ts); default 128. */
  spares?: number;
  /** HAProxy runs the services' health checks with these defaults (lb/health/haproxy-checks.ts); absent: the router does. */
  checks?: CheckDefaults;
}

interface Plan {
  desired: HaproxyDesired;
  slots: SlotTable;
  /** The spare-backend pool this plan assigns from (lb/haproxy/spares.ts). */
  pool: PoolPlan;
  /** Rendering is deferred: on the fast path it happens after HAProxy already serves the change (in the render thread). */
  render(): Promise<RenderedFiles>;
}

interface RenderedFiles {
  config: string;
  hostsMap: string;
  pathsMap: string;
  /** Certificates, crt-list and TLS maps, when the target serves HTTPS. */
  tls?: TlsDesired;
  acmeMap: string;
}

/**
 * Files after a runtime update: written once changes pause for this long, and
 * at least this often during a steady stream of them. Rendering the whole
 * config at 1,000 services takes ~100 ms: per burst, not per change.
 */
const FILE_WRITE = { quietMs: 200, maxMs: 1_000 };

/**
 * The HAProxy driver. Its apply path, in order:
 * plan → (runtime update → schedule the file write) | (flush → stage → validate → swap → reload → verify).
 */
export class HaproxyTarget implements Target {
  readonly kind = 'haproxy';
  readonly name: string;
  private readonly logger: Logger;
  private readonly files: HaproxyFiles;
  /** Next to the config, in run/: HAProxy's pid file and output, and the shape of the config it loaded. */
  private readonly runFiles: { pidFile: string; logFile: string; loaded: string };
  /** What an adopted HAProxy runs, read back at adoption: the first plan starts from it. */
  private adopted: HaproxyDesired | undefined;
  private readonly master: HaproxyMaster | undefined;
  private template: TemplateFn | undefined;
  private applied: HaproxyDesired | undefined;
  private slots: SlotTable = new Map();
  /** Which pool backend serves which service: remembered like slots, recorded in run/loaded.json. */
  private pool: BackendPool | undefined;
  /** Unchanged services' backends, reused between plans. */
  private readonly desiredMemo = new DesiredMemo();
  /** The files behind a runtime update, written off the apply path. */
  private readonly deferred: DeferredWrite;
  /** A deferred write failed: the next apply writes in line, so the error reaches its status. */
  private writeFailed = false;
  /** Each backend's checked view, kept as long as the backend object lives (unchanged backends are reused). */
  private readonly backendViews: BackendViews = new WeakMap();
  /** The descriptor limit HAProxy inherits from this process: its maxconn and strictness follow (lb/haproxy/limits.ts). */
  private readonly fdLimit = processHardFdLimit();
  /** The HTTPS frontend's certificates (lb/tls/haproxy-tls.ts), with `https:`. */
  private readonly tls: HaproxyTls | undefined;
  /** Renders the config off the event loop (lb/render-worker): at 100,000 servers it takes about a second. */
  private renderer: ThreadRenderer | undefined;

  constructor(
    private readonly config: HaproxyTargetConfig,
    private readonly context: DriverContext,
  ) {
    this.name = config.name;
    this.logger = context.logger;
    this.deferred = new DeferredWrite({ ...FILE_WRITE, onError: (err) => this.deferredWriteFailed(err) });
    const dir = dirname(config.dest);
    const runDir = join(dir, 'run');
    this.runFiles = { pidFile: join(runDir, 'haproxy.pid'), logFile: join(runDir, 'haproxy.log'), loaded: join(runDir, 'loaded.json') };
    this.files = {
      config: config.dest,
      hostsMap: join(dir, 'hosts.map'),
      pathsMap: join(dir, 'paths.map'),
      acmeMap: join(dir, 'acme.map'),
      adminSocket: config.runtimeSocket ?? join(runDir, 'admin.sock'),
      masterSocket: join(runDir, 'master.sock'),
    };
    if (config.https) {
      this.tls = new HaproxyTls(dir, config.https, context.vault ?? new CertVault(undefined, this.logger));
      this.files.tls = this.tls.files;
    }
    if (config.manage && !context.once) {
      this.master = new HaproxyMaster({
        binary: config.binary,
        configPath: config.dest,
        masterSocket: this.files.masterSocket,
        pidFile: this.runFiles.pidFile,
        logFile: this.runFiles.logFile,
        logger: this.logger,
      });
      this.master.on('exit', () => {
        this.applied = undefined;
        this.context.requestApply();
      });
    }
  }

  /** HAProxy runs the checks (their verdicts are read back from `adminSocket`). */
  get runsChecks(): boolean {
    return this.config.checks !== undefined;
  }

  /** Whether the router can read the admin socket: it runs HAProxy itself, or was told where the socket is. */
  get readsAdminSocket(): boolean {
    return this.config.manage || this.config.runtimeSocket !== undefined;
  }

  get adminSocket(): string {
    return this.files.adminSocket;
  }

  /** What HAProxy runs now, slots and all: undefined before the first apply and while HAProxy is down. */
  appliedDesired(): HaproxyDesired | undefined {
    return this.applied;
  }

  get masterState(): string {
    return this.master?.state ?? 'unmanaged';
  }

  serving(): boolean {
    return this.master ? this.master.state === 'running' || this.master.state === 'reloading' : this.applied !== undefined;
  }

  certificates(): Array<{ name: string; version: string }> {
    return HaproxyTls.served(this.applied?.tls);
  }

  async apply(model: Model): Promise<ApplyReport> {
    if (this.context.once) return this.applyOnce(model);
    const adopting = this.adopted !== undefined;
    if (this.adopted) this.startFromAdopted(model, this.adopted);
    const clock = new StepClock();
    let plan = await this.plan(model);
    clock.lap('plan');
    const change = this.serving() ? diffHaproxy(this.applied, plan.desired) : ({ kind: 'reload', reason: 'not running' } as const);
    clock.lap('diff');
    // A reload anyway: every service gets its own `svc_` backend again and the spares are laid out afresh.
    if (change.kind === 'reload' && !plan.pool.compacted) plan = await this.plan(model, true);
    if (change.kind === 'none') {
      this.slots = plan.slots;
      await this.recordPool(plan);
      // An earlier router may have died before writing its last files: these are the model's.
      if (this.writeFailed || adopting) await this.keepFilesInStep(plan);
      return { action: 'none' };
    }
    if (change.kind === 'runtime' && this.canUpdateAtRuntime()) {
      const commands = await this.runtimeUpdate(change.ops).catch((err) => {
        this.logger.warn({ err: describeError(err) }, 'runtime update failed; falling back to a reload');
        return undefined;
      });
      clock.lap('runtime');
      if (commands !== undefined) {
        await this.recordPool(plan);
        this.commit(plan);
        await this.keepFilesInStep(plan);
        clock.lap('files');
        return { action: 'runtime', commands, detail: `${change.ops.length} changes`, steps: clock.steps };
      }
    }
    // Anything that reads the files (haproxy -c, a reload) sees what HAProxy runs now, never older.
    await this.flushFiles();
    clock.lap('flush');
    const rendered = await plan.render();
    clock.lap('render');
    // Nothing serves yet: HAProxy's start parses the file as `haproxy -c` would and refuses what -c
    // refuses, so -c runs only to say why a start failed (at 100,000 endpoints it is 2 s of a cold start).
    const starting = this.master !== undefined && !this.serving();
    const staged = await this.stage(rendered);
    try {
      if (!starting) await this.validate(staged);
      clock.lap('validate');
      await this.swap(staged);
    } finally {
      await staged.discard();
    }
    clock.lap('swap');
    const action = await this.reloadAndVerify(plan).catch(async (err: unknown) => {
      if (starting) await this.validate({ path: this.files.config });
      throw err;
    });
    clock.lap(action);
    this.commit(plan);
    return { action, detail: change.kind === 'reload' ? change.reason : 'runtime update failed', steps: clock.steps };
  }

  /**
   * `fabric render --once`: the files through the shared sync pipeline (maps, then the config:
   * stage → haproxy -c → swap → `reload` if configured), in the run's mode. No process is started.
   */
  private async applyOnce(model: Model): Promise<ApplyReport> {
    const mode = this.context.mode;
    const timeoutMs = this.config.commandTimeoutMs;
    const files = await (await this.plan(model)).render();
    if (mode !== 'noop') await mkdir(dirname(this.files.masterSocket), { recursive: true });
    // The config names the certificates and the crt-list: they go first (never in noop mode).
    if (mode !== 'noop' && files.tls) await this.tls!.writeFiles(files.tls, renderMap);
    const diffs: Array<{ dest: string; diff: string }> = [];
    const sync = async (dest: string, content: string, commands: { check?: string; reload?: string } = {}) => {
      const result = await syncFile({ dest, timeoutMs, ...commands }, content, mode);
      if (result.changed) diffs.push({ dest, diff: result.diff });
      return result;
    };
    await sync(this.files.hostsMap, files.hostsMap);
    await sync(this.files.pathsMap, files.pathsMap);
    await sync(this.files.acmeMap, files.acmeMap);
    const config = await sync(this.files.config, files.config, { check: `${this.config.binary} -c -f {{src}}`, reload: this.config.reload });
    if (mode === 'noop') return { action: 'none', ...(diffs.length ? { detail: 'would change', diffs } : {}) };
    const action = config.changed && config.action === 'reload' ? 'reload' : diffs.length ? 'write' : 'none';
    return { action, diffs };
  }

  /**
   * Before the first snapshot: adopt the HAProxy an earlier router left running on this config
   * (never a second one on its ports), else start the last good config on disk.
   */
  async resume(): Promise<void> {
    if (this.master?.state !== 'stopped') return;
    await mkdir(dirname(this.files.masterSocket), { recursive: true });
    if (await this.adopt(this.master)) return;
    if (!(await readIfExists(this.files.config))) return;
    await this.validate({ path: this.files.config });
    // The last good config's shape is not known here: an adopting router will reload once.
    await forgetLoaded(this.runFiles.loaded);
    await this.master.start();
    this.logger.info({ config: this.files.config }, 'serving the last good config until etcd answers');
  }

  /**
   * `keep`: HAProxy goes on serving, its files in step with what it runs, for the next router
   * to adopt. `stop`: a soft stop (listeners close, open connections finish).
   */
  async stop(intent: ExitIntent): Promise<void> {
    // A router started later adopts or resumes from these files: they must be the ones HAProxy runs.
    await this.deferred.close().catch((err) => this.logger.error({ err: describeError(err) }, 'could not write the HAProxy files at stop'));
    await this.renderer?.close();
    if (!this.master) return;
    if (intent === 'keep' && this.serving()) {
      this.logger.info({ pid: this.master.pid }, 'leaving haproxy serving for the next router to adopt');
      this.master.release();
      return;
    }
    await this.master.stop();
  }

  /** A live master of this config is taken over; one that cannot be driven is stopped first. */
  private async adopt(master: HaproxyMaster): Promise<boolean> {
    const found = await findRunning({
      binary: this.config.binary,
      configPath: this.files.config,
      masterSocket: this.files.masterSocket,
      pidFile: this.runFiles.pidFile,
    });
    if (found.kind === 'unusable') {
      this.logger.warn(
        { pid: found.pid, reason: found.reason },
        'an haproxy of this config is running but cannot be driven; stopping it before starting afresh',
      );
      // Its workers hold the ports until they go too (they leave with their master, or at their own soft stop).
      const workers = childPids(found.pid);
      await stopPid(found.pid, 'SIGUSR1', 5_000);
      await Promise.all(workers.map((pid) => stopPid(pid, 'SIGUSR1', 5_000)));
      return false;
    }
    if (found.kind === 'none') return false;
    master.adopt(found.info);
    this.adopted = await this.readRunning().catch((err) => {
      this.logger.warn({ err: describeError(err) }, 'cannot read what the adopted haproxy runs; the first apply reloads it');
      return undefined;
    });
    const { masterPid, workers, reloads } = found.info;
    this.logger.info({ pid: masterPid, workers, reloads, converge: this.adopted ? 'runtime' : 'reload' }, 'adopted the running haproxy');
    return true;
  }

  /** The loaded config's shape plus the live servers and maps; undefined when they disagree. */
  private async readRunning(): Promise<HaproxyDesired | undefined> {
    const loaded = await readLoaded(this.runFiles.loaded);
    if (!loaded) return undefined;
    return runningDesired(loaded, await readRuntime(this.files));
  }

  /** The first plan after adoption: every endpoint keeps the slot HAProxy serves it in, so the diff is only what changed. */
  private startFromAdopted(model: Model, running: HaproxyDesired): void {
    this.adopted = undefined;
    this.pool = poolFromRunning(running.backends, this.poolSettings());
    const fresh = desiredHaproxy(model, new Map(), undefined, { previous: this.pool, settings: this.poolSettings(), compact: false }, this.config.checks);
    const { applied, slots } = adoptSlots(running, fresh.desired);
    this.applied = applied;
    this.slots = slots;
  }

  /** Pure planning: nothing touches HAProxy or the disk. */
  private async plan(model: Model, compact = false): Promise<Plan> {
    const template = (this.template ??= await loadTemplate(createTemplateEngine(), this.config.template));
    const spares = { previous: this.pool, settings: this.poolSettings(), compact };
    const planned = desiredHaproxy(model, this.slots, this.desiredMemo, spares, this.config.checks);
    const tls = this.tls ? await this.tls.plan(model) : undefined;
    const desired = tls ? { ...planned.desired, tls } : planned.desired;
    const https = tls ? this.tls!.view(tls) : undefined;
    const limits = planDescriptors({ fdLimit: this.fdLimit, checkedServers: checkedServerCount(desired.backends), maxconn: this.config.maxconn });
    const settings = {
      http: this.config.http,
      https,
      hardStopAfter: this.config.hardStopAfter,
      maxconn: limits.maxconn,
      strictLimits: limits.strictLimits,
      passiveCheckInterMs: passiveCheckInterMs(uncheckedSlotCount(desired.backends)),
      prometheus: this.config.prometheus,
      ...(this.config.trustedProxies ? { trustedProxies: this.config.trustedProxies } : {}),
    };
    return {
      desired,
      slots: planned.slots,
      pool: planned.pool!,
      render: async () => ({
        config: await this.renderConfig(template, haproxyView(desired, model, this.files, settings, this.backendViews)),
        hostsMap: renderMap(desired.hostMap),
        pathsMap: renderMap(desired.pathMap),
        ...(tls ? { tls } : {}),
        acmeMap: renderMap(desired.acmeMap ?? []),
      }),
    };
  }

  /** `fabric render --once` has no Runtime API to fill spares with: none then. */
  private poolSettings(): PoolSettings {
    const spares = this.context.once ? 0 : (this.config.spares ?? 128);
    // Where HAProxy runs checks, the default spares run the check a service gets from the router's defaults.
    const defaultCheck = this.config.checks ? backendCheck({ endpoints: [], spec: undefined, mode: 'http' }, this.config.checks) : undefined;
    return defaultCheck ? { spares, defaultCheck } : { spares };
  }

  /**
   * A service took or gave back a pool backend at run time: run/loaded.json says which
   * backend serves which service, so an adopting router starts from what HAProxy runs.
   */
  private async recordPool(plan: Plan): Promise<void> {
    if (plan.pool.pool === this.pool) return;
    this.pool = plan.pool.pool;
    if (this.master && this.master.state === 'running') await writeLoadedQuietly(this.runFiles.loaded, plan.desired, this.logger);
  }

  /** A long-running router renders in its render thread (off the event loop); `--once` in this one. */
  private renderConfig(template: TemplateFn, view: ReturnType<typeof haproxyView>): Promise<string> | string {
    if (this.context.once) return template(view);
    this.renderer ??= new ThreadRenderer(this.config.template);
    // haproxyView's backends are always views (its map fills every one); the type says `| undefined`.
    return this.renderer.render(view as typeof view & { backends: object[] });
  }

  private canUpdateAtRuntime(): boolean {
    return this.master !== undefined || this.config.runtimeSocket !== undefined;
  }

  private async runtimeUpdate(ops: RuntimeOp[]): Promise<number> {
    return applyRuntimeOps(this.files.adminSocket, ops, {
      hosts: this.files.hostsMap,
      paths: this.files.pathsMap,
      acme: this.files.acmeMap,
      ...this.tls?.mapFiles(),
    });
  }

  /**
   * Keeps the files in step with a runtime update, so a later reload changes nothing:
   * deferred (coalesced), or in line after a deferred write failed, so that error is this apply's.
   */
  private async keepFilesInStep(plan: Plan): Promise<void> {
    if (!this.writeFailed) return this.deferred.schedule(async () => this.writeFiles(await plan.render()));
    await this.deferred.flush().catch(() => undefined); // superseded by this plan's files
    await this.writeFiles(await plan.render());
    this.writeFailed = false;
  }

  private async flushFiles(): Promise<void> {
    await this.deferred.flush().catch((err) => this.logger.warn({ err: describeError(err) }, 'deferred HAProxy file write failed; the new files replace it'));
  }

  private deferredWriteFailed(err: unknown): void {
    this.logger.error({ err: describeError(err) }, 'could not write the HAProxy files after a runtime update; writing them with the next apply');
    this.writeFailed = true;
    this.context.requestApply();
  }

  private async writeFiles(files: RenderedFiles): Promise<void> {
    if (files.tls) await this.tls!.writeFiles(files.tls, renderMap);
    await writeAtomic(this.files.hostsMap, files.hostsMap);
    await writeAtomic(this.files.pathsMap, files.pathsMap);
    await writeAtomic(this.files.acmeMap, files.acmeMap);
    await writeAtomic(this.files.config, files.config);
  }

  private async stage(files: RenderedFiles): Promise<StagedFile> {
    await mkdir(dirname(this.files.masterSocket), { recursive: true });
    // Maps and certificates first: the staged config names them, and a running HAProxy reads them only when it loads.
    if (files.tls) await this.tls!.writeFiles(files.tls, renderMap);
    await writeAtomic(this.files.hostsMap, files.hostsMap);
    await writeAtomic(this.files.pathsMap, files.pathsMap);
    await writeAtomic(this.files.acmeMap, files.acmeMap);
    return stageFile(this.files.config, files.config);
  }

  private async validate(staged: Pick<StagedFile, 'path'>): Promise<void> {
    // No -q: it silences the [ALERT] lines too, and HAProxy's own message is what an operator needs.
    const spec = { check: '{{binary}} -c -f {{src}}', dest: this.files.config, timeoutMs: this.config.commandTimeoutMs, vars: { binary: this.config.binary } };
    await checkFile(staged.path, spec, 'haproxy -c rejected the new config');
  }

  private async swap(staged: StagedFile): Promise<void> {
    await staged.commit();
  }

  /**
   * The shape of what HAProxy loaded (run/loaded.json) is forgotten while a reload is under way
   * and recorded once it is verified: an adopting router never trusts a half-done reload.
   */
  private async reloadAndVerify(plan: Plan): Promise<'start' | 'reload'> {
    if (!this.master) {
      if (!this.config.reload) return 'reload';
      await runCommand(this.config.reload, { timeoutMs: this.config.commandTimeoutMs });
      return 'reload';
    }
    await forgetLoaded(this.runFiles.loaded);
    if (this.master.state === 'running') {
      try {
        await this.master.reload();
      } catch (err) {
        // The old config goes on serving: its shape is still the one loaded.
        await writeLoadedQuietly(this.runFiles.loaded, this.applied, this.logger);
        throw err;
      }
      await writeLoadedQuietly(this.runFiles.loaded, plan.desired, this.logger);
      return 'reload';
    }
    await this.master.start();
    await writeLoadedQuietly(this.runFiles.loaded, plan.desired, this.logger);
    return 'start';
  }

  private commit(plan: Plan): void {
    this.applied = plan.desired;
    this.slots = plan.slots;
    this.pool = plan.pool.pool;
  }
}

/** Losing run/loaded.json costs only one reload at the next adoption: worth a warning, not a failed apply. */
async function writeLoadedQuietly(path: string, desired: HaproxyDesired | undefined, logger: Logger): Promise<void> {
  if (!desired) return forgetLoaded(path);
  await writeLoaded(path, desired).catch((err) => logger.warn({ err: describeError(err), path }, 'could not record the loaded config shape'));
}
