import { Backoff } from '../src/backoff.js';
import { describeError, FabricError, isRetryable } from '../src/errors.js';
import type { Logger } from '../src/log.js';
import { Debouncer } from './debounce.js';
import type { HealthSource } from './health/source.js';
import { ApplyHistory } from './history.js';
import type { RouterMetrics } from './metrics.js';
import { deriveModel, type Model, ModelMemo } from './model.js';
import { policyLimitations, routePolicyLimitations } from './policy/limitations.js';
import { deriveProblems } from './problems/derive.js';
import { decodeSnapshot, type KeyChange, KeyStore } from './store.js';
import type { ExitIntent, Target, TargetStatus } from './target.js';
import type { AcmeManager } from './tls/acme/manager.js';
import type { TlsOptions } from './tls/model.js';
import { observeCertExpiry, servedCertificates } from './tls/status.js';
import type { CertVault } from './tls/vault.js';
import { preciseNow, StepClock } from './trace/step-clock.js';
import type { Traffic } from './traffic/create.js';
import type { VipManager } from './vip/manager.js';
import type { KeyspaceWatch, WatchState } from './watch.js';

export type RouterState = 'idle' | 'syncing' | 'running' | 'stopping' | 'stopped';

export interface RouterOptions {
  domain: string | undefined;
  debounce: { min: number; max: number };
  /** Active health checks: fed each model's endpoints, read back by the next model build. */
  health?: HealthSource;
  /** Per-service VIPs (lb/vip): allocated in etcd after each model build, put on the interface before targets apply. */
  vips?: VipManager;
  /** The router's `tls:` defaults (lb/tls/model.ts). */
  tls?: TlsOptions;
  /** Where the HTTPS targets' private keys are decrypted: its errors show in the status. */
  vault?: CertVault;
  /** The ACME loop (lb/tls/acme), when this router orders certificates: fed each model. */
  acme?: AcmeManager;
  /** Traffic sampling (lb/traffic): started and stopped with the router, read by the API. */
  traffic?: Traffic;
}

/**
 * The router: etcd keyspace → model → every target, level-triggered. Changes
 * only mark the model dirty; the debouncer runs one apply for a burst, and a
 * failed target is retried (with backoff) until it matches the model again.
 * Losing etcd changes nothing: the store keeps the last snapshot and the
 * targets keep serving it.
 */
export class Router {
  private currentState: RouterState = 'idle';
  private readonly store = new KeyStore();
  /** What the next model build may reuse from this one (unchanged services, claims). */
  private readonly modelMemo = new ModelMemo();
  private readonly debouncer: Debouncer;
  private readonly statuses = new Map<string, TargetStatus>();
  private readonly retry = new Backoff(200, 5_000);
  private retryTimer: NodeJS.Timeout | undefined;
  private pendingSince: number | undefined;
  private snapshotSeen = false;
  /** A snapshot being decoded (in slices, so the event loop keeps turning), and the watch events that came after it. */
  private loading: { done: Promise<void>; after: Array<{ changes: KeyChange[]; revision: number; seenAt: number }> } | undefined;
  /** The watch was live and has not been lost since (a re-list after a cancelled watch keeps it so). */
  private watchWasLive = false;
  private watchLossReported = false;
  private current: Model | undefined;
  private appliedRevision = -1;
  private resumed: Promise<unknown> = Promise.resolve();
  private applySeq = 0;
  /** When the first change since the last apply arrived from the watch: where the apply's step clock starts. */
  private changeSeenAt: number | undefined;
  /** Recent applies and failures (dashboard); its listeners hear of every apply pass. */
  readonly history = new ApplyHistory(50);

  constructor(
    private readonly watch: KeyspaceWatch,
    private readonly targets: Target[],
    private readonly options: RouterOptions,
    private readonly metrics: RouterMetrics,
    private readonly logger: Logger,
  ) {
    this.debouncer = new Debouncer(options.debounce.min, options.debounce.max, () => this.applyAll());
    for (const target of targets) {
      this.statuses.set(target.name, {
        name: target.name,
        kind: target.kind,
        state: 'pending',
        counters: { applies: 0, reloads: 0, runtimeUpdates: 0, failures: 0 },
      });
    }
  }

  get state(): RouterState {
    return this.currentState;
  }

  get model(): Model | undefined {
    return this.current;
  }

  get health(): HealthSource | undefined {
    return this.options.health;
  }

  get traffic(): Traffic | undefined {
    return this.options.traffic;
  }

  get vault(): CertVault | undefined {
    return this.options.vault;
  }

  /** The targets, in order (read-only use: `/v1/certs` asks which certificates each serves). */
  get targetList(): readonly Target[] {
    return this.targets;
  }

  start(): void {
    if (this.currentState !== 'idle') throw new Error(`Router.start() in state ${this.currentState}`);
    this.currentState = 'syncing';
    this.resumed = Promise.all(
      this.targets.map((t) => t.resume?.().catch((err) => this.logger.warn({ target: t.name, err: describeError(err) }, 'could not resume the last config'))),
    );
    this.watch.on('snapshot', (changes, revision) => this.onSnapshot(changes, revision));
    this.watch.on('changes', (changes, revision) => {
      const seenAt = preciseNow();
      if (this.loading) {
        this.loading.after.push({ changes, revision, seenAt });
        return;
      }
      this.onChanges(changes, revision, seenAt);
    });
    this.watch.on('state', (state) => this.onWatchState(state));
    this.options.health?.on('change', () => this.requestApply());
    this.options.traffic?.start();
    this.watch.start();
  }

  /**
   * A snapshot (the first list, or a re-list) replaces the store once it is decoded: 100,000 values
   * take ~0.5 s to decode, which in one go would stall the API and the health read-back. Events that
   * arrive meanwhile are newer: they apply after it, in order. A newer snapshot supersedes both.
   */
  private onSnapshot(changes: KeyChange[], revision: number): void {
    const loading: NonNullable<Router['loading']> = { done: Promise.resolve(), after: [] };
    this.loading = loading;
    loading.done = decodeSnapshot(changes).then((decoded) => {
      if (this.loading !== loading) return;
      this.loading = undefined;
      this.store.reset(changes, revision, decoded);
      this.snapshotSeen = true;
      this.markDirty();
      for (const later of loading.after) this.onChanges(later.changes, later.revision, later.seenAt);
    });
  }

  private onChanges(changes: KeyChange[], revision: number, seenAt: number): void {
    if (!this.store.apply(changes, revision)) return;
    this.changeSeenAt ??= seenAt;
    this.markDirty();
  }

  /**
   * A warning only when a live watch is lost: not while the first snapshot is read (the watch
   * logs a failed list itself), not at close. What is served then depends on whether anything was.
   */
  private onWatchState(state: WatchState): void {
    this.metrics.etcdConnected.set(state === 'watching' ? 1 : 0);
    if (state === 'watching') {
      this.logger.info(this.watchLossReported ? 'etcd watch live again' : 'etcd watch live');
      this.watchWasLive = true;
      this.watchLossReported = false;
      return;
    }
    if (state !== 'disconnected' || !this.watchWasLive) return;
    this.watchWasLive = false;
    this.watchLossReported = true;
    if (this.appliedRevision >= 0) {
      this.logger.warn({ err: this.watch.error, revision: this.appliedRevision }, 'etcd watch lost; serving the last good state');
    } else {
      this.logger.warn({ err: this.watch.error }, 'etcd watch lost; nothing is served yet (no config was applied)');
    }
  }

  /** `intent`: whether the load balancers stop too, or keep serving for the next router (see Target.stop). */
  async stop(intent: ExitIntent): Promise<void> {
    if (this.currentState === 'stopping' || this.currentState === 'stopped') return;
    this.currentState = 'stopping';
    this.debouncer.close();
    clearTimeout(this.retryTimer);
    await this.watch.close();
    await this.options.health?.stop();
    await this.options.traffic?.stop();
    this.options.vips?.close();
    await this.options.acme?.close();
    await Promise.all(
      this.targets.map((t) => t.stop(intent).catch((err) => this.logger.warn({ target: t.name, err: describeError(err) }, 'target stop failed'))),
    );
    this.currentState = 'stopped';
  }

  /** Ask for an apply even without a change (a target lost its process). */
  requestApply(): void {
    if (this.snapshotSeen) this.markDirty();
  }

  private markDirty(): void {
    this.pendingSince ??= Date.now();
    this.debouncer.trigger();
  }

  private async applyAll(): Promise<void> {
    const clock = new StepClock(this.changeSeenAt ?? preciseNow());
    this.changeSeenAt = undefined;
    await this.resumed;
    if (!this.snapshotSeen || this.currentState === 'stopping' || this.currentState === 'stopped') return;
    clock.lap('wait');
    const since = this.pendingSince ?? Date.now();
    this.pendingSince = undefined;
    const health = this.options.health;
    const model = deriveModel(
      this.store.grouped(),
      this.store.revision,
      {
        domain: this.options.domain,
        health: health && ((e) => health.verdict(e)),
        healthVersion: health?.version,
        vipPool: this.options.vips?.pool,
        tls: this.options.tls,
      },
      this.modelMemo,
    );
    this.current = model;
    clock.lap('model');
    health?.sync(model);
    await this.options.vips?.onModel(model);
    this.options.acme?.onModel(model);
    clock.lap('observers');
    this.metrics.renders.inc();
    this.metrics.revision.set(model.revision);
    this.metrics.modelIssues.set(model.issues.length);
    observeCertExpiry(this.metrics.certExpiry, model);
    const applyId = ++this.applySeq;
    const outcomes = [];
    for (const target of this.targets) outcomes.push(await this.applyTarget(target, model, applyId, clock));
    this.history.notify();
    // A config the LB refuses waits for the next change; anything else is retried.
    if (outcomes.includes('retry')) this.scheduleRetry();
    // A deferred target asks for the next apply itself; until then this change counts as pending.
    if (outcomes.includes('deferred')) this.pendingSince ??= since;
    if (outcomes.some((o) => o !== 'ok')) return;
    this.retry.reset();
    this.appliedRevision = model.revision;
    this.metrics.eventToApplied.observe((Date.now() - since) / 1000);
    if (this.currentState === 'syncing') this.currentState = 'running';
  }

  private async applyTarget(target: Target, model: Model, applyId: number, clock: StepClock): Promise<'ok' | 'deferred' | 'retry' | 'wait'> {
    const status = this.statuses.get(target.name)!;
    const started = Date.now();
    try {
      const report = await target.apply(model);
      const durationMs = Date.now() - started;
      if (report.action === 'deferred') {
        status.state = 'pending';
        this.logger.debug({ applyId, target: target.name, revision: model.revision, detail: report.detail }, 'apply deferred');
        return 'deferred';
      }
      status.state = 'applied';
      const limitations = [
        ...(report.limitations ?? []),
        ...policyLimitations(target.kind, model.services, model.weightedRoutes),
        ...routePolicyLimitations(model.weightedRoutes, model.services),
      ];
      status.limitations = limitations.length > 0 ? limitations : undefined;
      status.counters.applies += 1;
      this.metrics.applies.inc({ target: target.name, action: report.action });
      if (report.action === 'reload' || report.action === 'start') {
        status.counters.reloads += 1;
        this.metrics.reloads.inc({ target: target.name });
      }
      if (report.action === 'runtime') {
        status.counters.runtimeUpdates += 1;
        this.metrics.runtimeCommands.inc({ target: target.name }, report.commands ?? 0);
      }
      if (report.action !== 'none') {
        status.lastApply = { at: new Date().toISOString(), revision: model.revision, action: report.action, detail: report.detail, durationMs };
        this.history.add({
          applyId,
          at: status.lastApply.at,
          target: target.name,
          revision: model.revision,
          result: 'ok',
          action: report.action,
          detail: report.detail,
          durationMs,
        });
        // `steps` (ms) and `changeSeenAt` (epoch ms): where the time from the watch to here went (bench z).
        const steps = { ...clock.steps, ...report.steps };
        const timing = { durationMs, changeSeenAt: clock.startedAt, steps };
        this.logger.info({ applyId, target: target.name, revision: model.revision, action: report.action, detail: report.detail, ...timing }, 'applied');
      }
      status.lastError = undefined;
      return 'ok';
    } catch (err) {
      const code = err instanceof FabricError ? err.code : 'FABRIC_ERR_RELOAD';
      status.state = 'failed';
      status.counters.failures += 1;
      status.lastError = { at: new Date().toISOString(), revision: model.revision, code, message: describeError(err) };
      this.metrics.failures.inc({ target: target.name, code });
      if (code === 'FABRIC_ERR_VALIDATE') this.metrics.validationFailures.inc({ target: target.name });
      this.history.add({ applyId, ...status.lastError, target: target.name, result: 'failed', durationMs: Date.now() - started });
      this.logger.error({ applyId, target: target.name, revision: model.revision, code, err: describeError(err) }, 'apply failed; the running config stays');
      return isRetryable(err) ? 'retry' : 'wait';
    }
  }

  /** Retry failed targets with backoff; a new change from etcd retries at once too. */
  private scheduleRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.markDirty(), this.retry.next());
  }

  /** Which certificates the targets serve, and the ones that cannot be used (their keys do not decrypt). */
  tlsStatus(): { served: ReturnType<typeof servedCertificates>; wanted: number; errors: Array<{ cert: string; error: string }> } {
    const vault = this.options.vault;
    const errors = (this.current?.tls?.certs ?? []).flatMap((c) => {
      const error = vault?.error(c.name);
      return error ? [{ cert: c.name, error }] : [];
    });
    return { served: servedCertificates(this.targets), wanted: this.current?.tls?.wanted.length ?? 0, errors };
  }

  readiness(): { ready: boolean; reasons: string[] } {
    const reasons: string[] = [];
    if (this.watch.state !== 'watching') reasons.push(`etcd watch is ${this.watch.state}${this.watch.error ? `: ${this.watch.error}` : ''}`);
    if (!this.snapshotSeen) reasons.push('no snapshot of the keyspace yet');
    else if (this.appliedRevision < 0) reasons.push('nothing applied yet');
    for (const status of this.statuses.values()) {
      if (status.lastError) reasons.push(`target ${status.name}: ${status.lastError.code}: ${status.lastError.message}`);
    }
    // Applied once is not enough: a load balancer that died (and is being restarted) serves nothing.
    if (this.appliedRevision >= 0) {
      for (const target of this.targets) if (!target.serving()) reasons.push(`target ${target.name}: not serving`);
    }
    return { ready: reasons.length === 0, reasons };
  }

  status(): Record<string, unknown> {
    return {
      state: this.currentState,
      etcd: { watch: this.watch.state, error: this.watch.error, revision: this.store.revision, keys: this.store.size },
      appliedRevision: this.appliedRevision,
      targets: [...this.statuses.values()],
      issues: this.current?.issues ?? [],
      problems: deriveProblems({
        etcd: { watch: this.watch.state, error: this.watch.error },
        targets: [...this.statuses.values()],
        services: this.current?.services,
        issues: this.current?.issues,
      }),
      ...(this.options.health ? { healthChecks: { ...this.options.health.checks, endpointsByHealth: this.options.health.counts() } } : {}),
      ...(this.options.vips ? { vips: this.options.vips.status() } : {}),
      tls: this.tlsStatus(),
      ...(this.options.acme ? { acme: this.options.acme.status() } : {}),
      ...(this.options.traffic ? { traffic: this.options.traffic.status() } : {}),
      ready: this.readiness(),
    };
  }
}
