import os from 'node:os';
import type { Lease, Namespace } from 'etcd3';
import { describeError } from '../src/errors.js';
import { describeLeaseLoss } from '../src/etcd-errors.js';
import { Keys } from '../src/keyspace.js';
import type { Logger } from '../src/log.js';
import { healthView } from './health/view.js';
import type { Router } from './router.js';

export type PublisherState = 'idle' | 'publishing' | 'stopped';

export interface StatusPublisherOptions {
  kv: Namespace;
  routerId: string;
  /** What to publish; compared as JSON with what was last written. */
  document: () => unknown;
  logger: Logger;
  /** Lease TTL in seconds (etcd's minimum is 2). */
  ttlSeconds?: number;
  /** At most one write per interval, and only when the document changed. */
  intervalMs?: number;
}

/**
 * Publishes this router's status at `status/routers/<router-id>` on the
 * router's own lease, for monitoring and other routers: written at most every
 * `intervalMs` when it changed, gone within the TTL if the router dies, and
 * at once (lease revoked) when it stops cleanly.
 */
export class StatusPublisher {
  private currentState: PublisherState = 'idle';
  private lease: Lease | undefined;
  private timer: NodeJS.Timeout | undefined;
  private tick: Promise<void> = Promise.resolve();
  private written: string | undefined;
  private busy = false;
  private failing: string | undefined;
  readonly key: string;

  constructor(private readonly options: StatusPublisherOptions) {
    this.key = Keys.routerStatus(options.routerId);
  }

  get state(): PublisherState {
    return this.currentState;
  }

  start(): void {
    if (this.currentState !== 'idle') throw new Error(`StatusPublisher.start() in state ${this.currentState}`);
    this.currentState = 'publishing';
    // One write at a time: while etcd is slow or away, ticks are skipped, not queued.
    this.timer = setInterval(() => {
      if (!this.busy) this.tick = this.publish();
    }, this.options.intervalMs ?? 1_000);
    this.tick = this.publish();
  }

  /** Idempotent: no more writes; the lease is revoked, so the key is gone at once. */
  async stop(): Promise<void> {
    if (this.currentState === 'stopped') return;
    this.currentState = 'stopped';
    clearInterval(this.timer);
    await this.tick;
    const lease = this.lease;
    this.lease = undefined;
    if (!lease) return;
    try {
      await lease.revoke();
    } catch (err) {
      this.options.logger.warn({ key: this.key, err: describeError(err) }, 'could not revoke the status lease; the key expires with its TTL');
    }
  }

  private async publish(): Promise<void> {
    if (this.currentState !== 'publishing') return;
    this.busy = true;
    try {
      const document = this.options.document();
      const text = documentText(document);
      if (text === this.written && this.lease) return;
      const lease = this.lease ?? this.grant();
      await lease.put(this.key).value(JSON.stringify({ ...(document as object), publishedAt: new Date().toISOString() }));
      this.written = text;
      if (this.failing) this.options.logger.info({ key: this.key }, 'router status published again');
      this.failing = undefined;
    } catch (err) {
      const reason = describeError(err);
      if (this.failing !== reason) this.options.logger.warn({ key: this.key, err: reason }, 'could not publish the router status; retrying');
      this.failing = reason;
    } finally {
      this.busy = false;
    }
  }

  private grant(): Lease {
    const lease = this.options.kv.lease(this.options.ttlSeconds ?? 15);
    lease.on('lost', (err) => {
      if (lease !== this.lease) return;
      this.options.logger.warn(
        { key: this.key, err: describeLeaseLoss(undefined, err, this.options.ttlSeconds ?? 15) },
        'status lease lost; granting a new one',
      );
      this.lease = undefined;
      this.written = undefined;
    });
    this.lease = lease;
    return lease;
  }
}

/** JSON text of each top-level object value seen, by identity: at 100,000 endpoints the health view is ~1 MB to stringify, each second. */
const texts = new WeakMap<object, string>();

/** Exactly JSON.stringify(document) for a plain object; a frozen top-level value seen before (the health view) is not stringified again. */
export function documentText(document: unknown): string {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return JSON.stringify(document);
  const parts: string[] = [];
  for (const [key, value] of Object.entries(document)) {
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
    const kept = typeof value === 'object' && value !== null && Object.isFrozen(value);
    let text = kept ? texts.get(value) : undefined;
    if (text === undefined) {
      text = JSON.stringify(value);
      if (kept) texts.set(value, text);
    }
    parts.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${parts.join(',')}}`;
}

/** What a router publishes: its state, the last apply per target, and the health view. */
export function routerStatusDocument(routerId: string, router: Router) {
  const status = router.status() as { state: string; appliedRevision: number; targets: Array<Record<string, unknown>> };
  return {
    routerId,
    hostname: os.hostname(),
    pid: process.pid,
    state: status.state,
    /** The revision every target serves: an ordering router waits for it before the CA validates (lb/tls/acme). */
    appliedRevision: status.appliedRevision,
    targets: status.targets.map(({ name, kind, state, lastApply, lastError, counters }) => ({ name, kind, state, lastApply, lastError, counters })),
    health: healthView(router.model, router.health),
    /** What this router serves: `fabric get certs` shows it per certificate. */
    certs: router.tlsStatus().served,
  };
}

/** `<hostname>-<api port>`, fitted to the router-id grammar: unique per machine, stable across restarts. */
export function defaultRouterId(listen: string, hostname = os.hostname()): string {
  const port = /:(\d+)$/.exec(listen)?.[1] ?? '0';
  const host =
    hostname
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 56) || 'router';
  return `${host}-${port}`;
}
