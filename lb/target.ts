import type { Etcd3 } from 'etcd3';
import type { Logger } from '../src/log.js';
import type { Model } from './model.js';
import type { SyncMode } from './sync.js';
import type { CertVault } from './tls/vault.js';

/**
 * `deferred`: the target cannot take the change yet (nginx's minReloadInterval) and has asked
 * for a later apply itself; that apply renders the model as it is then, never a stale one.
 */
export type ApplyAction = 'none' | 'runtime' | 'reload' | 'start' | 'write' | 'deferred';

export interface ApplyReport {
  action: ApplyAction;
  /** Why a reload was needed, or what the runtime update did. */
  detail?: string;
  /** Runtime API commands sent. */
  commands?: number;
  /** What changed (or, in `noop` mode, would change) per file, as unified diffs: `fabric render --noop` prints them. */
  diffs?: Array<{ dest: string; diff: string }>;
  /** What the model asks for that this target cannot do (e.g. sticky routes on open-source nginx): never silently ignored. */
  limitations?: string[];
  /** How long each step of this apply took, in ms (lb/trace): logged with the apply. */
  steps?: Record<string, number>;
}

/** A target's last outcome, for `/v1/status` and the dashboard. */
export interface TargetStatus {
  name: string;
  kind: string;
  state: string;
  lastApply?: { at: string; revision: number; action: ApplyAction; detail?: string; durationMs: number };
  lastError?: { at: string; revision: number; code: string; message: string };
  counters: { applies: number; reloads: number; runtimeUpdates: number; failures: number };
  /** The last successful apply's `limitations`, when there were any. */
  limitations?: string[];
}

/**
 * One load balancer (or file) the router keeps in step with the model. Each
 * driver sits behind this one small interface; `lb/targets.ts` lists them.
 */
export interface Target {
  readonly name: string;
  readonly kind: string;
  /** Brings the target from whatever it runs to `model`. Throws a FabricError on failure; the router retries. */
  apply(model: Model): Promise<ApplyReport>;
  /**
   * Before the first snapshot: serve what the last run left (its validated
   * config on disk), so a router restarted while etcd is down still serves.
   */
  resume?(): Promise<void>;
  /** Whether the target serves something (it may still be behind the model). */
  serving(): boolean;
  /** The certificates it serves now (HTTPS targets): name and CertMaterial.version. */
  certificates?(): Array<{ name: string; version: string }>;
  /**
   * `keep`: the router goes away but the load balancer it runs keeps serving (files flushed, the
   * process left running for the next router to adopt); `stop`: the load balancer stops too.
   */
  stop(intent: ExitIntent): Promise<void>;
}

/** What a router's exit does to the load balancers it runs (`--lb-on-exit`). */
export type ExitIntent = 'keep' | 'stop';

/** What every driver is built with (see `lb/targets.ts`). */
export interface TargetContext {
  logger: Logger;
  /** Asks the router for a fresh apply (a process died, a watched key changed). */
  requestApply: () => void;
  /** `normal` serves; `noop` and `sync-only` are confd's modes, for `fabric render`. */
  mode: SyncMode;
  /** `fabric render --once`: one apply, then exit; no supervised processes. */
  once: boolean;
  /** The etcd client itself (not namespaced), for targets over arbitrary keys. */
  etcd: Etcd3;
  /** A client of its own for each long-lived watch (see EtcdConnection.watchClient). */
  watchClient: () => Etcd3;
  /** Decrypts the certificates HTTPS targets serve (lb/tls/vault.ts); one for the whole router. */
  vault?: CertVault;
}

/** What a driver needs of its context: the etcd client matters only to targets over arbitrary keys. */
export type DriverContext = Pick<TargetContext, 'logger' | 'requestApply' | 'mode' | 'once' | 'vault'>;

/** What the HAProxy and nginx drivers share: a template rendered to `dest`, a process the router may supervise. */
export interface ManagedTargetConfig {
  name: string;
  /** The shared HTTP frontend, `HOST:PORT`; none when absent. */
  http: string | undefined;
  /** The HTTPS frontend, `HOST:PORT` (docs/tls.md); none when absent. */
  https?: string | undefined;
  template: string;
  dest: string;
  /** Start and supervise the load balancer (true), or leave it to `reload` (false). */
  manage: boolean;
  binary: string;
  /** With manage: false, the command that reloads it. */
  reload: string | undefined;
  /** Every check and reload command is killed after this long. */
  commandTimeoutMs: number;
  /** Router-level `trustedProxies`: a connection from one of them has its client address read from X-Forwarded-For. */
  trustedProxies?: readonly string[];
}
