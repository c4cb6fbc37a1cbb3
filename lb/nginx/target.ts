import { chmod, mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Backoff, delay } from '../../src/backoff.js';
import { FabricError } from '../../src/errors.js';
import { readIfExists, writeAtomic } from '../../src/files.js';
import { DeferredWrite } from '../deferred-write.js';
import type { Model } from '../model.js';
import { createTemplateEngine, loadTemplate, packageRoot, type TemplateFn } from '../render.js';
import { checkFile, type FileSpec, type SyncResult, syncFile } from '../sync.js';
import type { ApplyReport, DriverContext, ExitIntent, ManagedTargetConfig, Target } from '../target.js';
import { NginxTls, type NginxTlsPlan } from '../tls/nginx-tls.js';
import { CertVault } from '../tls/vault.js';
import { writeAuthFiles } from './auth-files.js';
import { fatalLinesSince, logOffset, servedVersion } from './control.js';
import { pushPeers } from './dynamic/control.js';
import { luaModules } from './dynamic/module.js';
import { desiredPeerSets, fullText, type PeerState, peerState } from './dynamic/peers.js';
import { planDynamic } from './dynamic/plan.js';
import { DynamicPeers, type PushOutcome } from './dynamic/runtime.js';
import { NginxMaster } from './master.js';
import { ReloadPacer } from './pacer.js';
import { isNginx } from './procfs.js';
import { type DynamicSetup, type NginxPaths, nginxAuthFiles, nginxPaths, nginxView, type RenderedNginx, renderNginx } from './view.js';

export interface NginxTargetConfig extends ManagedTargetConfig {
  /** Reloads are at least this far apart; a burst waits and is folded into one. */
  minReloadIntervalMs: number;
  workerShutdownTimeout: string;
  /** Run-time upstreams through the Lua module: undefined = on when the module is installed. */
  dynamic?: boolean | undefined;
  /** Where ndk_http_module.so and ngx_http_lua_module.so are looked for. */
  modulesDir?: string | undefined;
}

/** The shared dict's size: ~100 bytes a peer, so room for well over 100,000 endpoints. */
const PEER_DICT_SIZE = '32m';

/** The peers' copy on disk: written once pushes pause for this long, and at least this often during a burst. */
const PEERS_FILE_WRITE = { quietMs: 200, maxMs: 2_000 };

/** A crash-looping nginx is restarted no faster than this; a run this long resets the backoff. */
const RESTART_BACKOFF = { initialMs: 500, maxMs: 30_000, stableMs: 30_000 };

/**
 * The nginx driver. Its apply path, in order:
 * render → adopt (what an earlier router left running) → compare → (wait out minReloadInterval) →
 * stage → validate (nginx -t) → swap → reload → verify.
 * nginx open source has no runtime API: every change of the upstreams is a reload, which is why
 * reloads are paced, why one happens only when what nginx runs changes (not for every etcd
 * revision), and why the rendered upstreams list only endpoints the router calls ready.
 */
export class NginxTarget implements Target {
  readonly kind = 'nginx';
  readonly name: string;
  private lastModel: Model | undefined;
  private readonly paths: NginxPaths;
  private readonly master: NginxMaster | undefined;
  private readonly pacer: ReloadPacer;
  private readonly restarts = new Backoff(RESTART_BACKOFF.initialMs, RESTART_BACKOFF.maxMs);
  private template: TemplateFn | undefined;
  /** Version of the config nginx was last confirmed (or, unmanaged, told) to run. */
  private applied: string | undefined;
  /** Version of the config on disk, when known (after an adoption it is read again). */
  private onDisk: string | undefined;
  /** The limitations last logged, so each set is logged once. */
  private loggedLimitations = '';
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private pacedTimer: NodeJS.Timeout | undefined;
  /** HTTPS (lb/tls/nginx-tls.ts), with `https:`. */
  private readonly tls: NginxTls | undefined;
  /** The certificates of the config nginx runs. */
  private servedTls: NginxTlsPlan | undefined;
  /** Run-time upstreams (lb/nginx/dynamic), when on; `dynamicOff` says why not, for the status. */
  private readonly dynamic: DynamicSetup | undefined;
  private readonly dynamicOff: string | undefined;
  private readonly peers: DynamicPeers;
  /** A push nginx did not take even on the retry: from then on this target reloads, and says why. */
  private pushFailure: string | undefined;
  /** The copy of the peers on disk trails the pushes: only a start before etcd answers reads it. */
  private readonly peersFile: DeferredWrite;

  constructor(
    private readonly config: NginxTargetConfig,
    private readonly context: DriverContext,
  ) {
    this.name = config.name;
    // Absolute: nginx's process title and the files it holds name them so, and adoption compares them.
    const dest = resolve(config.dest);
    this.paths = nginxPaths(dest, dirname(dest));
    this.pacer = new ReloadPacer(config.minReloadIntervalMs);
    if (config.https) this.tls = new NginxTls(dirname(dest), config.https, context.vault ?? new CertVault(undefined, context.logger));
    // `fabric render --once` and confd's other modes never start a process.
    if (config.manage && !context.once && context.mode === 'normal') {
      this.master = new NginxMaster({ binary: config.binary, paths: this.paths, logger: context.logger, confirmTimeoutMs: config.commandTimeoutMs });
      this.master.on('exit', () => this.onUnexpectedExit());
    }
    this.peers = new DynamicPeers(this.paths.controlSocket, context.logger);
    this.peersFile = new DeferredWrite({
      ...PEERS_FILE_WRITE,
      onError: (err) => context.logger.warn({ err: (err as Error).message }, 'could not keep the peers on disk'),
    });
    const setup = this.dynamicSetup();
    this.dynamic = typeof setup === 'string' ? undefined : setup;
    this.dynamicOff = typeof setup === 'string' ? setup : undefined;
  }

  /** Run-time upstreams need the Lua module and an nginx this router runs (it pushes to its control socket). */
  private dynamicSetup(): DynamicSetup | string | undefined {
    if (this.config.dynamic === false) return undefined;
    if (!this.master) return this.config.dynamic ? 'dynamic upstreams need manage: true: every endpoint change reloads nginx' : undefined;
    const modulesDir = this.config.modulesDir ?? '/usr/lib/nginx/modules';
    const modules = luaModules(modulesDir);
    if (!modules) return `nginx's Lua module is not installed (libnginx-mod-http-lua, in ${modulesDir}): every endpoint change reloads nginx`;
    return { modules, luaDir: resolve(packageRoot(), 'templates/lua'), dictSize: PEER_DICT_SIZE };
  }

  /** Whether endpoint changes reach nginx at run time now (the module is there, and no push failed). */
  get dynamicUpstreams(): boolean {
    return this.dynamic !== undefined && this.pushFailure === undefined;
  }

  /** The file nginx logs each proxied request to for the router's traffic counts. */
  get trafficLog(): string {
    return this.paths.trafficLog;
  }

  /** The model this target last applied (traffic maps upstream addresses back to endpoints). */
  get appliedModel(): Model | undefined {
    return this.lastModel;
  }

  get masterState(): string {
    return this.master?.state ?? 'unmanaged';
  }

  serving(): boolean {
    return this.master ? this.master.state === 'running' || this.master.state === 'reloading' : this.applied !== undefined;
  }

  certificates(): Array<{ name: string; version: string }> {
    return this.serving() ? NginxTls.served(this.servedTls) : [];
  }

  async apply(model: Model): Promise<ApplyReport> {
    let rendered = await this.render(model);
    let report = await this.applyRendered(rendered);
    // nginx did not take the peers (even on the retry): the same model again, peers in the config.
    if (rendered.peers && this.pushFailure) {
      rendered = await this.render(model);
      report = await this.applyRendered(rendered);
    }
    this.logLimitations(rendered.limitations);
    this.lastModel = model;
    return rendered.limitations.length > 0 ? { ...report, limitations: rendered.limitations } : report;
  }

  /**
   * Before etcd answers: adopt the nginx an earlier router left running on this config, or else
   * start one on the last good config on disk.
   */
  async resume(): Promise<void> {
    const master = this.master;
    if (!master?.idle) return;
    if (await this.adopt(master)) return;
    if (!(await readIfExists(this.paths.config))) return;
    await this.prepareDirs();
    await this.validate(this.paths.config);
    this.applied = await this.start(master);
    this.onDisk = this.applied;
    await this.resumePeers();
    this.context.logger.info({ config: this.paths.config }, 'serving the last good config until etcd answers');
  }

  /** `keep`: nginx goes on serving, its files as they are (each apply leaves them in step), for the next router. */
  async stop(intent: ExitIntent): Promise<void> {
    clearTimeout(this.restartTimer);
    clearTimeout(this.pacedTimer);
    await this.peersFile.flush().catch((err: unknown) => this.context.logger.warn({ err: (err as Error).message }, 'could not keep the peers on disk'));
    if (intent === 'keep') await this.master?.release();
    else await this.master?.stop();
  }

  private applyRendered(rendered: RenderedNginx): Promise<ApplyReport> {
    if (this.context.mode !== 'normal') return this.writeOnly(rendered);
    return this.master ? this.applyManaged(this.master, rendered) : this.applyUnmanaged(rendered);
  }

  private async render(model: Model): Promise<RenderedNginx> {
    const template = (this.template ??= await loadTemplate(createTemplateEngine(), this.config.template));
    const settings = {
      http: this.config.http,
      https: this.config.https,
      workerShutdownTimeout: this.config.workerShutdownTimeout,
      trustedProxies: this.config.trustedProxies,
    };
    const tls = this.tls ? await this.tls.plan(model) : undefined;
    const dynamic = this.dynamicUpstreams ? this.dynamic : undefined;
    const view = nginxView(model, this.paths, { ...settings, dynamic }, tls);
    const rendered = renderNginx(template, view);
    const off = this.pushFailure
      ? `run-time upstreams off: nginx did not take a push (${this.pushFailure}): every endpoint change reloads nginx`
      : this.dynamicOff;
    return {
      ...rendered,
      ...(off ? { limitations: [...rendered.limitations, off] } : {}),
      ...(tls ? { tls } : {}),
      authFiles: nginxAuthFiles(model, this.paths),
      ...(dynamic ? { peers: peerState(desiredPeerSets(model), view.runtimeHosts) } : {}),
    };
  }

  /** The certificate and htpasswd files the config names, before `nginx -t` reads them. */
  private async writeTls(rendered: RenderedNginx): Promise<void> {
    if (rendered.tls) await this.tls!.writeFiles(rendered.tls);
    if (rendered.authFiles) await writeAuthFiles(this.paths.auth, rendered.authFiles, rendered.content);
  }

  /** nginx runs this config: what it serves is known, and certificates no config names can go. */
  private async servedNow(rendered: RenderedNginx): Promise<void> {
    this.servedTls = rendered.tls;
    if (rendered.tls) await this.tls!.removeStale(rendered.tls);
  }

  /** The router runs nginx: adopt → compare → pace → stage → validate → swap → reload|start → verify. */
  private async applyManaged(master: NginxMaster, rendered: RenderedNginx): Promise<ApplyReport> {
    if (!rendered.content.includes(rendered.version)) {
      throw new FabricError(
        'FABRIC_ERR_RENDER',
        'the nginx template must serve {{control.version}} on {{control.socket}}: the router confirms each reload through it',
      );
    }
    if (master.idle) await this.adopt(master);
    const peers = rendered.peers;
    if (!peers) return this.applyStructure(master, rendered);
    const plan = planDynamic(
      { config: this.serving() ? this.applied : undefined, peers: this.peers.heldVersion },
      { config: rendered.version, peers: peers.version },
    );
    // Structure first: a config nginx -t refuses throws here, and its peers are not half-applied either.
    // A reload keeps the dict; a start empties it: the push follows, before the apply reports.
    const report = plan.reload ? await this.applyStructure(master, rendered) : await this.keepFileInStep(rendered);
    const pushed = await this.syncPeers(peers);
    if (pushed.result === 'mismatch') return this.fellBack(pushed.detail);
    if (pushed.result !== 'pushed') return report;
    const sent = pushed.delta ? `${pushed.delta.changed} changed and ${pushed.delta.removed} removed of ` : '';
    const hosts = peers.hosts > 0 ? `; ${peers.hosts} catch-all host${peers.hosts === 1 ? '' : 's'}` : '';
    const what = `peers of ${sent}${peers.upstreams} upstreams (${peers.peers} endpoints${hosts}) pushed at run time, read back equal`;
    if (report.action === 'none') return { action: 'runtime', detail: what, commands: 1 };
    return { ...report, detail: report.detail ? `${report.detail}; ${what}` : what };
  }

  /** Pushes the peer state unless nginx holds it; on success also keeps it on disk (soon after) for a start before etcd answers. */
  private async syncPeers(peers: PeerState): Promise<PushOutcome> {
    if (!this.serving()) return { result: 'unchanged' };
    const outcome = await this.peers.ensure(peers);
    if (outcome.result === 'pushed') this.peersFile.schedule(() => writeAtomic(this.paths.peers, fullText(peers), 0o600).then(() => undefined));
    return outcome;
  }

  /** nginx started from the config on disk (etcd not answering yet): the peers last pushed with it, if any. */
  private async resumePeers(): Promise<void> {
    if (!this.dynamicUpstreams) return;
    const text = (await readIfExists(this.paths.peers))?.toString('utf8');
    if (!text) return;
    try {
      await pushPeers(this.paths.controlSocket, text);
    } catch (err) {
      this.context.logger.warn({ err: (err as Error).message }, 'could not push the last peers to nginx: its upstreams answer 503 until etcd does');
    }
  }

  /** Run-time pushes failed twice: log it once, and let apply() render the peers into the config and reload. */
  private fellBack(detail: string): ApplyReport {
    this.pushFailure = detail;
    this.context.logger.error({ detail }, 'nginx did not take the peer state: falling back to reloads');
    return { action: 'none', detail };
  }

  /** The config: compare → pace → stage → validate → swap → reload|start → verify. */
  private async applyStructure(master: NginxMaster, rendered: RenderedNginx): Promise<ApplyReport> {
    if (this.serving() && this.applied === rendered.version) return this.keepFileInStep(rendered);
    const running = master.state === 'running';
    if (running) {
      const deferred = this.deferWhilePaced();
      if (deferred) return deferred;
    }
    await this.prepareDirs();
    await this.writeTls(rendered);
    const result = await syncFile(this.fileSpec(undefined), rendered.content, 'normal');
    this.onDisk = rendered.version;
    const diffs = result.changed ? [{ dest: this.paths.config, diff: result.diff }] : undefined;
    if (running) {
      this.pacer.mark();
      await master.reload(rendered.version);
      this.applied = rendered.version;
      await this.servedNow(rendered);
      return { action: 'reload', detail: reloadDetail(result), diffs };
    }
    // Not running (first apply, or nginx died): an unchanged file on disk was validated when written; check it again anyway.
    if (!result.changed) await this.validate(this.paths.config);
    this.applied = await this.start(master, rendered.version);
    await this.servedNow(rendered);
    return { action: 'start', detail: 'nginx started', diffs };
  }

  /** Takes over the nginx an earlier router left on this config, when it is usable: whether it did. */
  private async adopt(master: NginxMaster): Promise<boolean> {
    const served = await master.adopt();
    if (served === undefined) return false;
    this.peers.forget();
    this.applied = served;
    this.onDisk = undefined;
    this.startedAt = Date.now();
    return true;
  }

  /**
   * nginx already runs what the model renders (only the revision moved, or an adopted nginx serves
   * the model): no reload. The file on disk must hold that config too, for `nginx -t`, a restart
   * or the next router; after an adoption it may not (the earlier router died between swap and reload).
   */
  private async keepFileInStep(rendered: RenderedNginx): Promise<ApplyReport> {
    // Same version, same certificates (their versions are in the config); after an adoption, the files may still be missing.
    await this.writeTls(rendered);
    this.servedTls = rendered.tls;
    if (this.onDisk === rendered.version || (await this.fileHolds(rendered.version))) {
      this.onDisk = rendered.version;
      return { action: 'none' };
    }
    await this.prepareDirs();
    const result = await syncFile(this.fileSpec(undefined), rendered.content, 'normal');
    this.onDisk = rendered.version;
    if (!result.changed) return { action: 'none' };
    return { action: 'write', detail: 'config on disk brought in step with what nginx serves', diffs: [{ dest: this.paths.config, diff: result.diff }] };
  }

  /** Whether the config on disk is this version (it serves the version string on its control server). */
  private async fileHolds(version: string): Promise<boolean> {
    return (await readIfExists(this.paths.config))?.toString('utf8').includes(version) ?? false;
  }

  private logLimitations(limitations: string[]): void {
    const key = limitations.join('\n');
    if (key === this.loggedLimitations) return;
    this.loggedLimitations = key;
    if (limitations.length > 0) this.context.logger.warn({ limitations }, 'nginx cannot do all the model asks for');
  }

  /**
   * Someone else runs nginx (manage: false), or `fabric render --once`: stage → validate → swap →
   * the `reload` command; with neither, an nginx running on this config (its pid file) gets SIGHUP.
   */
  private async applyUnmanaged(rendered: RenderedNginx): Promise<ApplyReport> {
    const current = (await readIfExists(this.paths.config))?.toString('utf8');
    // The same config, perhaps rendered at another revision: nothing to write or reload.
    if (current !== undefined && (current === rendered.content || current.includes(rendered.version))) {
      this.applied = rendered.version;
      this.servedTls = rendered.tls;
      return { action: 'none' };
    }
    const reloads = this.config.reload !== undefined || (await this.runningPid()) !== undefined;
    const deferred = reloads ? this.deferWhilePaced() : undefined;
    if (deferred) return deferred;
    await this.prepareDirs();
    await this.writeTls(rendered);
    const result = await syncFile(this.fileSpec(this.config.reload), rendered.content, 'normal');
    const diffs = result.changed ? [{ dest: this.paths.config, diff: result.diff }] : undefined;
    this.applied = rendered.version;
    this.servedTls = rendered.tls;
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
  private async writeOnly(rendered: RenderedNginx): Promise<ApplyReport> {
    if (this.context.mode === 'sync-only') {
      await this.prepareDirs();
      await this.writeTls(rendered);
    }
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
    this.peers.forget();
    const served = await master.start(version);
    this.startedAt = Date.now();
    return served;
  }

  /** nginx writes its temp dirs, logs and pid below the config's directory; their parents must exist. */
  private async prepareDirs(): Promise<void> {
    for (const path of [this.paths.pid, this.paths.errorLog, this.paths.temp.proxy]) await mkdir(dirname(path), { recursive: true });
    // run/ holds the control socket: the router's alone.
    await chmod(dirname(this.paths.controlSocket), 0o700);
  }

  /** nginx died under us: start it again at the next apply, after a backoff if it keeps dying. */
  private onUnexpectedExit(): void {
    this.applied = undefined;
    this.peers.forget();
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
