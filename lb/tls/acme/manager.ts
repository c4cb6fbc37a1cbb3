import { describeError, FabricError } from '../../../src/errors.js';
import type { Logger } from '../../../src/log.js';
import { certRecord, decryptKey, encryptKey, validateCertificate } from '../../../src/tls/cert-record.js';
import type { Keyring } from '../../../src/tls/keyring.js';
import type { Model } from '../../model.js';
import type { AcmeEtcd } from './acme-etcd.js';
import { issue, newAccountKey } from './ca.js';
import type { AcmeConfig } from './config.js';
import type { AcmeMetrics } from './metrics.js';
import { failedState, issuedState, mayOrder, renewAt, retryDelay } from './schedule.js';
import { type AcmeWant, acmeWanted, stillWanted, type TlsDefault } from './wanted.js';

export interface AcmeManagerOptions {
  config: AcmeConfig;
  tlsDefault: TlsDefault;
  /** The routers' shared key (tls.keyFile): encrypts the account key and every certificate key in etcd. */
  keyring: Keyring;
  routerId: string;
  etcd: AcmeEtcd;
  metrics: AcmeMetrics;
  logger: Logger;
}

/** The last attempt of each certificate this router made, for `/v1/status`. */
export interface Attempt {
  name: string;
  domains: string[];
  reason: AcmeWant['reason'];
  result: 'issued' | 'failed';
  at: string;
  durationMs?: number;
  error?: string;
}

/** A wake-up is never further away than this: timers drift, and the model may change the answer. */
const MAX_SLEEP_MS = 3_600_000;
/** How long the CA is kept waiting for routers that have not applied a challenge yet. */
const CHALLENGE_PROPAGATION_MS = 5_000;

/**
 * The ACME loop of one router, level-triggered like the rest: each model (and a timer for
 * renewals and backoffs) → the certificates wanted now (pure: wanted.ts, schedule.ts) → for
 * each, take its lock in etcd, read its keys afresh, order, store. One order at a time per
 * router; across routers the lock makes it one per certificate. A failure is stored with its
 * backoff in `acme/state/<name>`, so no router orders it again before then.
 */
export class AcmeManager {
  private model: Model | undefined;
  private running = false;
  private dirty = false;
  private closed = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private accountPem: string | undefined;
  /** Failures before the CA was reached (account key unreadable…): this router's alone, never stored. */
  private readonly localBackoff = new Map<string, { failures: number; until: number }>();
  private readonly attempts = new Map<string, Attempt>();
  private current: string | undefined;
  private readonly counts = { issued: 0, failed: 0 };
  private readonly attemptListeners = new Set<(attempt: Attempt) => void>();

  constructor(private readonly options: AcmeManagerOptions) {}

  /** Hands in the newest model; returns at once. */
  onModel(model: Model): void {
    if (this.closed) return;
    this.model = model;
    this.kick();
  }

  status() {
    return {
      directory: this.options.config.directory,
      default: this.options.tlsDefault,
      ordering: this.current ?? null,
      orders: { ...this.counts },
      attempts: [...this.attempts.values()].sort((a, b) => a.name.localeCompare(b.name)),
    };
  }

  /** No new orders; the lease goes (locks and challenges with it). One in flight ends on its own. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.wakeTimer);
    await this.options.etcd.close();
  }

  private kick(): void {
    this.dirty = true;
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.dirty && !this.closed && this.model) {
        this.dirty = false;
        await this.pass(this.model).catch((err) => this.options.logger.error({ err: describeError(err) }, 'ACME pass failed'));
      }
    } finally {
      this.running = false;
    }
  }

  /** One pass over what the model wants now. */
  private async pass(model: Model): Promise<void> {
    const now = Date.now();
    const acme = model.acme;
    for (const want of acmeWanted(model, { default: this.options.tlsDefault, now })) {
      if (this.closed) return;
      if (acme?.locks.includes(want.name)) continue; // another router (or this one) is ordering it
      if (
        !mayOrder(
          acme?.states.find((s) => s.name === want.name),
          now,
        )
      )
        continue;
      if ((this.localBackoff.get(want.name)?.until ?? 0) > now) continue;
      await this.attempt(want);
    }
    this.scheduleWake(model);
  }

  private async attempt(want: AcmeWant): Promise<void> {
    const { etcd, logger } = this.options;
    if (!(await etcd.tryLock(want.name))) return;
    const started = Date.now();
    this.current = want.name;
    try {
      // The model may be behind: another router may have stored it, or failed, just now.
      const fresh = await etcd.readFresh(want.name);
      const state = fresh.states[0];
      const wanted = stillWanted(want, fresh, Date.now());
      if (!wanted || !mayOrder(state, Date.now())) return;
      const accountPem = await this.accountKey().catch((err) => {
        this.localFailure(want, err);
        return undefined;
      });
      if (!accountPem) return;
      logger.info({ cert: want.name, domains: want.domains, reason: wanted.reason }, 'ACME order started');
      try {
        const issued = await issue({
          directory: this.options.config.directory,
          accountKeyPem: accountPem,
          email: this.options.config.email,
          domains: want.domains,
          hooks: { publish: (token, auth) => this.publish(token, auth), withdraw: (token) => etcd.withdrawChallenge(token) },
        });
        // Through the certificate store's own checks and encoding, as `fabric cert import` does.
        const valid = validateCertificate({ certPem: issued.chain, keyPem: issued.keyPem, certSource: 'the CA' });
        const record = certRecord({ name: want.name, source: 'acme', valid, keyring: this.options.keyring });
        await etcd.writeIssued(record, issuedState({ name: want.name, domains: want.domains, routerId: this.options.routerId }, Date.now()));
        this.localBackoff.delete(want.name);
        this.record(want, wanted.reason, 'issued', started);
        logger.info(
          { cert: want.name, domains: want.domains, notAfter: issued.notAfter, durationMs: Date.now() - started },
          'ACME certificate issued and stored',
        );
      } catch (err) {
        const error = describeError(err);
        const next = failedState(state, { name: want.name, domains: want.domains, error, routerId: this.options.routerId }, Date.now(), {
          minMs: this.options.config.retry.min,
          maxMs: this.options.config.retry.max,
        });
        await etcd.writeState(next);
        this.record(want, wanted.reason, 'failed', started, error);
        logger.warn(
          { code: 'FABRIC_ERR_ACME', cert: want.name, domains: want.domains, err: error, failures: next.failures, nextAttemptAt: next.nextAttemptAt },
          'ACME order failed; retrying with backoff',
        );
      }
    } finally {
      this.current = undefined;
      await etcd
        .unlock(want.name)
        .catch((err) => logger.warn({ cert: want.name, err: describeError(err) }, 'could not release the ACME lock; it goes with the lease'));
    }
  }

  /** A challenge goes to etcd; the CA is told to validate once every router answers it. */
  private async publish(token: string, keyAuthorization: string): Promise<void> {
    const revision = await this.options.etcd.publishChallenge(token, keyAuthorization);
    const behind = await this.options.etcd.waitRoutersApplied(revision, CHALLENGE_PROPAGATION_MS);
    if (behind.length)
      this.options.logger.warn({ routers: behind, revision }, 'routers have not applied the ACME challenge yet; asking the CA to validate anyway');
  }

  /** The shared account's key: read from etcd, or created there by the first router that needs it. */
  private async accountKey(): Promise<string> {
    if (this.accountPem) return this.accountPem;
    const { etcd, config, keyring } = this.options;
    const found = await etcd.readAccount();
    if (found?.record.directory === config.directory) return (this.accountPem = decryptKey(found.record.key, keyring));
    const pem = await newAccountKey();
    const record = { directory: config.directory, ...(config.email ? { email: config.email } : {}), key: encryptKey(pem, keyring) };
    if (await etcd.writeAccount(record, found?.modRevision)) return (this.accountPem = pem);
    const again = await etcd.readAccount(); // another router created it first
    if (again?.record.directory === config.directory) return (this.accountPem = decryptKey(again.record.key, keyring));
    throw new FabricError('FABRIC_ERR_ACME', 'acme/account changed while it was being created; trying again');
  }

  private localFailure(want: AcmeWant, err: unknown): void {
    const failures = (this.localBackoff.get(want.name)?.failures ?? 0) + 1;
    const wait = retryDelay(failures, { minMs: this.options.config.retry.min, maxMs: this.options.config.retry.max });
    this.localBackoff.set(want.name, { failures, until: Date.now() + wait });
    this.record(want, want.reason, 'failed', Date.now(), describeError(err));
    this.options.logger.error(
      { code: 'FABRIC_ERR_ACME', cert: want.name, err: describeError(err), retryInMs: wait },
      'cannot order: the ACME account is not usable here',
    );
    this.wakeIn(wait);
  }

  private record(want: AcmeWant, reason: AcmeWant['reason'], result: 'issued' | 'failed', started: number, error?: string): void {
    const durationMs = Date.now() - started;
    this.counts[result] += 1;
    this.options.metrics.orders.inc({ result });
    this.options.metrics.orderDuration.observe({ result }, durationMs / 1000);
    const attempt: Attempt = {
      name: want.name,
      domains: want.domains,
      reason,
      result,
      at: new Date().toISOString(),
      durationMs,
      ...(error ? { error } : {}),
    };
    this.attempts.set(want.name, attempt);
    for (const listener of this.attemptListeners) listener(attempt);
  }

  /** Told of every order's outcome (the events timeline); returns the unsubscribe. */
  onAttempt(listener: (attempt: Attempt) => void): () => void {
    this.attemptListeners.add(listener);
    return () => this.attemptListeners.delete(listener);
  }

  /** The next pass: when the earliest backoff ends or renewal falls due. */
  private scheduleWake(model: Model): void {
    const times = [
      ...(model.acme?.states.flatMap((s) => (s.nextAttemptAt ? [Date.parse(s.nextAttemptAt)] : [])) ?? []),
      ...(model.acme?.certs.filter((c) => c.source === 'acme').map(renewAt) ?? []),
      ...[...this.localBackoff.values()].map((b) => b.until),
    ].filter((t) => t > Date.now());
    this.wakeIn(times.length ? Math.min(...times) - Date.now() : MAX_SLEEP_MS);
  }

  private wakeIn(ms: number): void {
    if (this.closed) return;
    clearTimeout(this.wakeTimer);
    // +10 ms: wake after the moment, not just before it.
    this.wakeTimer = setTimeout(() => this.kick(), Math.min(MAX_SLEEP_MS, Math.max(0, ms) + 10));
    this.wakeTimer.unref();
  }
}
