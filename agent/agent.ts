import type Docker from 'dockerode';
import { Backoff, delay } from '../src/backoff.js';
import { mapConcurrent } from '../src/concurrency.js';
import { describeError } from '../src/errors.js';
import { Keys } from '../src/keyspace.js';
import type { Logger } from '../src/log.js';
import { type Endpoint, encodeEndpoint } from '../src/model/endpoint.js';
import { decodeHost, encodeHost, type HostRecord, hostIgnored, hostRejections, type IgnoredLabels, type Rejection } from '../src/model/host.js';
import { readsEnvironment } from './compat/index.js';
import { type ContainerFacts, isStopSignal, needsInspect } from './container.js';
import { desiredOutcome, type HostContext, type Outcome } from './desired.js';
import { type DockerEvent, DockerEventStream } from './docker-events.js';
import { DockerSource } from './docker-source.js';
import { Label } from './labels.js';
import type { AgentMetrics } from './metrics.js';
import { isEmptyPlan, planWrites, type StoredKey } from './plan.js';
import type { HostRegistry } from './registry.js';

export type AgentState = 'idle' | 'running' | 'stopping' | 'stopped';

export interface AgentOptions {
  context: HostContext;
  agentVersion: string;
  resyncIntervalMs: number;
  /**
   * Ceiling of the retry backoff after a failed sync. Keep it well below the lease TTL: when etcd
   * returns it extends the old lease by one TTL, and everything must be re-registered before that
   * runs out (default 5 s).
   */
  retryMaxMs?: number;
  /** `--keep-lease`: an earlier agent of this host may have left its keys on its lease; keep that lease alive instead of writing them again. */
  keepLease?: boolean;
}

export type { Rejection };

/** Container events that can change what a container should look like in etcd. */
const RELEVANT_ACTIONS = new Set(['start', 'restart', 'kill', 'stop', 'die', 'destroy', 'pause', 'unpause', 'rename', 'update']);

/**
 * The host agent: Docker is the truth, etcd is made to match it.
 *
 * Events only mark containers dirty; one loop turns dirty containers (or, on
 * start, reconnect and every resync interval, all of them) into desired keys,
 * diffs them against what etcd holds for this host, and writes the difference
 * in batched transactions. Failures keep the work pending and retry with backoff.
 */
export class Agent {
  private currentState: AgentState = 'idle';
  private readonly outcomes = new Map<string, Outcome>();
  /** Containers told to stop (kill event), with the signal, until they die or start again. */
  private readonly stopping = new Map<string, string | undefined>();
  /** Container id → when its timed event happened (undefined: a network event, not timed). */
  private readonly dirty = new Map<string, number | undefined>();
  /** `--compat`: each container's environment, read by one inspect (the list lacks it; it never changes). */
  private readonly envs = new Map<string, Record<string, string>>();
  private fullSyncWanted = false; // the event stream's first `connected` asks for it
  private storedKnown = false;
  private stored = new Map<string, StoredKey>();
  private wake: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private readonly backoff: Backoff;
  /** When this host's registration began: now, or when the agent whose lease it kept started. */
  private started = new Date().toISOString();
  private keepTried = false;
  private lastError: { at: string; message: string } | undefined;
  private lastSync: { at: string; puts: number; deletes: number } | undefined;
  private lastWriteOk = false;
  private lastFullSyncAt = 0;
  private firstSyncEnded: (() => void) | undefined;
  /** Settles when the first sync ended, written or failed: the API can wait for it (start.ts). */
  readonly firstSync = new Promise<void>((resolve) => {
    this.firstSyncEnded = resolve;
  });

  constructor(
    private readonly source: DockerSource,
    private readonly events: DockerEventStream,
    private readonly registry: HostRegistry,
    private readonly options: AgentOptions,
    private readonly metrics: AgentMetrics,
    private readonly logger: Logger,
  ) {
    this.backoff = new Backoff(100, options.retryMaxMs ?? 5_000);
  }

  static create(docker: Docker, registry: HostRegistry, options: AgentOptions, metrics: AgentMetrics, logger: Logger): Agent {
    return new Agent(new DockerSource(docker), new DockerEventStream(docker, logger), registry, options, metrics, logger);
  }

  get state(): AgentState {
    return this.currentState;
  }

  start(): void {
    if (this.currentState !== 'idle') throw new Error(`Agent.start() in state ${this.currentState}`);
    this.currentState = 'running';
    this.events.on('event', (event) => this.onDockerEvent(event));
    this.events.on('connected', () => {
      this.logger.info('Docker event stream connected');
      this.requestFullSync();
    });
    this.events.on('disconnected', (reason) => this.logger.warn({ reason }, 'Docker event stream lost; reconnecting'));
    this.registry.on('lost', () => {
      this.storedKnown = false;
      this.requestFullSync();
    });
    // Subscribe first, then list (the first `connected` asks for the full sync),
    // so nothing that happens in between is missed.
    this.events.start();
    // The first full sync is the one `connected` asks for; the periodic one counts from now.
    this.lastFullSyncAt = Date.now();
    this.loopDone = this.loop().catch((err) => this.logger.fatal({ err: describeError(err) }, 'agent loop crashed'));
  }

  async stop(revokeLease: boolean): Promise<void> {
    if (this.currentState !== 'running') return;
    this.currentState = 'stopping';
    this.events.close();
    this.wake?.();
    await this.loopDone;
    await this.registry.close(revokeLease);
    this.currentState = 'stopped';
  }

  requestFullSync(): void {
    this.fullSyncWanted = true;
    this.wake?.();
  }

  private onDockerEvent(event: DockerEvent): void {
    const action = event.Action.split(':')[0]!.trim();
    this.metrics.events.inc({ type: event.Type, action });
    const id = event.Type === 'network' ? event.Actor.Attributes?.container : event.Actor.ID;
    if (!id || !this.concerns(event, id)) return;
    if (event.Type === 'container') {
      if (!RELEVANT_ACTIONS.has(action) && action !== 'health_status') return;
      if (action === 'kill') this.stopping.set(id, event.Actor.Attributes?.signal);
      if (action === 'start' || action === 'restart' || action === 'unpause') this.stopping.delete(id);
    }
    // Only container lifecycle events are timed: a network connect says nothing about registration latency.
    const since = event.Type === 'container' ? eventTime(event) : undefined;
    if (this.dirty.get(id) === undefined) this.dirty.set(id, since);
    this.wake?.();
  }

  /**
   * Whether an event can change what this host registers: a container fabric already tracks, or one
   * whose labels (container events carry them, and they never change) opt in. Anything else would
   * only cost an inspect; the periodic full sync still sees every container.
   */
  private concerns(event: DockerEvent, id: string): boolean {
    if (this.outcomes.has(id)) return true;
    // Other tools' labels, or their variables, may opt any container in.
    if (this.compat.length > 0) return event.Type === 'container';
    return event.Type === 'container' && event.Actor.Attributes?.[Label.service] !== undefined;
  }

  private async loop(): Promise<void> {
    while (this.currentState === 'running') {
      if (!this.fullSyncWanted && this.dirty.size === 0) await this.waitForWork();
      if (this.currentState !== 'running') break;
      try {
        await this.syncOnce();
        this.backoff.reset();
        this.firstSyncEnded?.();
      } catch (err) {
        this.firstSyncEnded?.();
        this.lastWriteOk = false;
        this.lastError = { at: new Date().toISOString(), message: describeError(err) };
        this.metrics.errors.inc();
        const wait = this.backoff.next();
        this.logger.warn({ err: describeError(err), retryInMs: wait }, 'sync failed');
        await delay(wait);
      }
    }
  }

  /** Sleeps until an event, a stop, or the next periodic resync is due. */
  private async waitForWork(): Promise<void> {
    const due = this.lastFullSyncAt + this.options.resyncIntervalMs - Date.now();
    if (due > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        timer = setTimeout(resolve, due);
      });
      clearTimeout(timer);
      this.wake = undefined;
    }
    if (Date.now() >= this.lastFullSyncAt + this.options.resyncIntervalMs) this.fullSyncWanted = true;
  }

  /** One pass: refresh what changed, diff against etcd, write the difference. */
  private async syncOnce(): Promise<void> {
    const full = this.fullSyncWanted;
    const batch = new Map(this.dirty);
    this.fullSyncWanted = false;
    this.dirty.clear();
    try {
      // etcd (what is stored, the lease) and Docker (what runs) are read side by side: at start-up
      // neither waits for the other's round trips.
      const [lease] = await allOrFirstError([this.readEtcd(full), full ? this.refreshAll(new Set(batch.keys())) : this.refresh([...batch.keys()])]);
      const plan = planWrites(this.desiredKeys(), this.stored, lease);
      if (!isEmptyPlan(plan)) {
        const txns = await this.registry.apply(plan, lease);
        this.metrics.recordWrites(plan, txns);
        for (const key of plan.deletes) this.stored.delete(key);
        for (const { key, value } of plan.puts) this.stored.set(key, { value, lease });
        this.logger.info({ puts: plan.puts.length, deletes: plan.deletes.length, full }, 'etcd updated');
      }
      for (const since of batch.values()) if (since !== undefined) this.metrics.eventToEtcd.observe((Date.now() - since) / 1000);
      if (full) {
        this.metrics.resyncs.inc();
        this.lastFullSyncAt = Date.now();
      }
      this.lastSync = { at: new Date().toISOString(), puts: plan.puts.length, deletes: plan.deletes.length };
      this.lastWriteOk = true;
      this.metrics.registered.set(this.registered().length);
      this.metrics.rejected.set(this.rejected().length);
    } catch (err) {
      // Keep the work for the retry.
      if (full) this.fullSyncWanted = true;
      for (const [id, since] of batch) if (!this.dirty.has(id)) this.dirty.set(id, since);
      throw err;
    }
  }

  /** What etcd holds for this host (re-read on a full sync), and the lease to write on. */
  private async readEtcd(full: boolean): Promise<string> {
    if (!this.storedKnown || full) {
      this.stored = await this.registry.read();
      this.storedKnown = true;
    }
    const keep = this.leaseToKeep();
    const lease = await this.registry.ensureLease(keep);
    if (keep !== undefined && lease === keep) this.started = this.storedStarted() ?? this.started;
    return lease;
  }

  /**
   * At the first sync only, with --keep-lease: the one lease every key of this host is on (the
   * agent before this one left them), so that an unchanged host needs no write at all.
   */
  private leaseToKeep(): string | undefined {
    if (!this.options.keepLease || this.keepTried) return undefined;
    this.keepTried = true;
    const leases = new Set([...this.stored.values()].map((key) => key.lease));
    const [lease] = leases;
    return leases.size === 1 && lease && lease !== '0' ? lease : undefined;
  }

  private storedStarted(): string | undefined {
    const host = this.options.context.host;
    const stored = this.stored.get(Keys.hostInfo(host)) ?? this.stored.get(Keys.legacyHost(host));
    return stored ? decodeHost(stored.value)?.started : undefined;
  }

  /**
   * Every labelled container from one list call; only those whose listed facts are not enough
   * are inspected (1,000 inspects cost seconds on a busy engine, one list a few tens of ms).
   * Docker's list is a view that can lag its events (a pause, a disconnect), so the containers
   * `evented` names are inspected too: the list is trusted only where no event says otherwise.
   */
  private async refreshAll(evented: Set<string>): Promise<string[]> {
    const listed = await this.source.listLabelled(this.compat.length > 0);
    const live = new Set(listed.map((facts) => facts.id));
    for (const id of this.outcomes.keys()) if (!live.has(id)) this.outcomes.delete(id);
    for (const id of this.stopping.keys()) if (!live.has(id)) this.stopping.delete(id);
    for (const id of this.envs.keys()) if (!live.has(id)) this.envs.delete(id);
    const toInspect = [...evented].filter((id) => !live.has(id));
    for (const facts of listed) {
      const env = this.envs.get(facts.id);
      if (evented.has(facts.id) || needsInspect(facts, this.stopping.has(facts.id), Label.port) || this.needsEnv(facts)) toInspect.push(facts.id);
      else this.noteFacts(facts.id, env ? { ...facts, env } : facts);
    }
    await this.refresh(toInspect);
    return [...live];
  }

  private get compat() {
    return this.options.context.compat ?? [];
  }

  /**
   * Whether a listed container must be inspected for its environment: only with a `--compat` tool
   * that reads it, only once per container, never for one that opted in with native labels.
   */
  private needsEnv(facts: ContainerFacts): boolean {
    return readsEnvironment(this.compat) && facts.labels[Label.service] === undefined && !this.envs.has(facts.id);
  }

  /** The containers events named, each inspected: the engine's own current word. */
  private async refresh(ids: string[]): Promise<void> {
    await mapConcurrent(ids, 16, async (id) => this.noteFacts(id, await this.source.inspect(id)));
  }

  /** A container's current facts (undefined: it is gone) → its outcome. */
  private noteFacts(id: string, facts: ContainerFacts | undefined): void {
    if (!facts) {
      this.outcomes.delete(id);
      this.stopping.delete(id);
      this.envs.delete(id);
      return;
    }
    if (facts.env && this.compat.length > 0) this.envs.set(id, facts.env);
    if (!facts.running) this.stopping.delete(id);
    const draining = this.stopping.has(id) && isStopSignal(this.stopping.get(id), facts.stopSignal);
    this.noteOutcome(id, desiredOutcome(facts, this.options.context, draining));
  }

  private noteOutcome(id: string, outcome: Outcome): void {
    const previous = this.outcomes.get(id);
    if (outcome.kind === 'reject' && (previous?.kind !== 'reject' || previous.reason !== outcome.reason)) {
      this.logger.warn({ container: id, name: outcome.name, reason: outcome.reason }, 'container rejected');
    }
    if (outcome.kind === 'ignore') this.outcomes.delete(id);
    else this.outcomes.set(id, outcome);
  }

  private desiredKeys(): Map<string, string> {
    const desired = new Map<string, string>();
    const { host, hostIp, pool } = this.options.context;
    // The rejections and the counts ride on the host record (same lease), so every router can show
    // them. It is written in the same batched pass as the endpoints: one rewrite per change of the
    // counts, not one per container.
    const rejected = this.rejected();
    const record: HostRecord = {
      name: host,
      address: hostIp,
      agentVersion: this.options.agentVersion,
      started: this.started,
      ...(pool ? { pool } : {}),
      ...hostRejections(rejected),
      ...hostIgnored(this.ignored()),
      containers: { registered: this.registered().length, rejected: rejected.length },
    };
    desired.set(Keys.hostInfo(host), encodeHost(record));
    for (const outcome of this.outcomes.values()) {
      if (outcome.kind === 'register') desired.set(outcome.key, encodeEndpoint(outcome.endpoint));
    }
    return desired;
  }

  registered(): Endpoint[] {
    return [...this.outcomes.values()].flatMap((o) => (o.kind === 'register' ? [o.endpoint] : []));
  }

  rejected(): Rejection[] {
    return [...this.outcomes.values()].flatMap((o) => (o.kind === 'reject' ? [{ container: o.container, name: o.name, reason: o.reason }] : []));
  }

  /** `--compat`: per container, what of another tool's labels was not understood (empty without --compat). */
  ignored(): IgnoredLabels[] {
    return [...this.outcomes.values()].flatMap((o) =>
      o.kind !== 'ignore' && o.ignored?.length
        ? [{ container: o.kind === 'reject' ? o.container : o.endpoint.container, name: o.kind === 'reject' ? o.name : o.endpoint.name, ignored: o.ignored }]
        : [],
    );
  }

  readiness(): { ready: boolean; reasons: string[] } {
    const reasons: string[] = [];
    if (this.currentState !== 'running') reasons.push(`agent is ${this.currentState}`);
    if (this.events.state !== 'connected') reasons.push(`Docker event stream is ${this.events.state}`);
    if (this.registry.state !== 'granted') reasons.push(`etcd lease is ${this.registry.state}`);
    const keepaliveError = this.registry.keepaliveError;
    if (keepaliveError) reasons.push(`etcd lease keepalive failing: ${keepaliveError}`);
    if (!this.lastWriteOk) reasons.push(`last sync with etcd failed${this.lastError ? `: ${this.lastError.message}` : ''}`);
    return { ready: reasons.length === 0, reasons };
  }

  status(): Record<string, unknown> {
    return {
      state: this.currentState,
      host: this.options.context.host,
      hostIp: this.options.context.hostIp,
      ...(this.options.context.pool ? { pool: this.options.context.pool } : {}),
      addressMode: this.options.context.addressMode,
      docker: this.events.state,
      lease: { state: this.registry.state, id: this.registry.id },
      registered: this.registered().length,
      rejected: this.rejected(),
      ...(this.compat.length > 0 ? { compat: this.compat, ignored: this.ignored() } : {}),
      lastSync: this.lastSync,
      lastError: this.lastError,
      ready: this.readiness(),
    };
  }
}

/** Like Promise.all, but waits for every promise to settle before throwing the first error: no work runs on behind a retry. */
async function allOrFirstError<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

function eventTime(event: DockerEvent): number {
  return event.timeNano ? Math.floor(event.timeNano / 1e6) : Date.now();
}
