import { EventEmitter } from 'node:events';
import type { Lease, LeaseClient } from 'etcd3';
import { delay } from '../src/backoff.js';
import { describeError } from '../src/errors.js';

/** What the registry needs of a lease, granted (etcd3's Lease) or kept from an earlier agent (KeptLease). */
export interface HeldLease {
  grant(): Promise<string>;
  revoke(): Promise<unknown>;
  release(): void;
  /** etcd expired it (or no keepalive got through for 2×TTL): every key on it is gone. */
  onLost(listener: (err: Error) => void): void;
  /** Each keepalive's outcome: an error while etcd cannot be reached, none once it answers again. */
  onKeepalive(listener: (err: Error | undefined) => void): void;
}

/** etcd3's own Lease (a new grant), seen as a HeldLease. */
export function grantedLease(lease: Lease): HeldLease {
  return {
    grant: () => lease.grant(),
    revoke: () => lease.revoke(),
    release: () => lease.release(),
    onLost: (listener) => void lease.on('lost', listener),
    onKeepalive: (listener) => {
      lease.on('keepaliveFailed', (err) => listener(err instanceof Error ? err : new Error(describeError(err))));
      lease.on('keepaliveSucceeded', () => listener(undefined));
    },
  };
}

/**
 * A lease an earlier agent of this host granted and left alive (`--keep-lease`), kept alive
 * from now on: its keys stay as they are, so an agent restart writes nothing to etcd and no
 * router applies anything. Keepalives go every TTL/3 on a stream re-opened (on any member)
 * when it breaks; the lease counts as lost when etcd says so, or after 2×TTL with no answer,
 * as etcd3's own Lease does.
 */
export class KeptLease extends EventEmitter implements HeldLease {
  private closed = false;
  private lastAlive = Date.now();

  private constructor(
    private readonly client: LeaseClient,
    private readonly id: string,
    private readonly ttlSeconds: number,
  ) {
    super();
  }

  onLost(listener: (err: Error) => void): void {
    this.on('lost', listener);
  }

  onKeepalive(listener: (err: Error | undefined) => void): void {
    this.on('keepalive', listener);
  }

  /** The lease, if etcd still has it; it is then kept alive until released or revoked. */
  static async keep(client: LeaseClient, id: string, ttlSeconds: number): Promise<KeptLease | undefined> {
    const answer = await client.leaseTimeToLive({ ID: id });
    if (Number(answer.TTL) <= 0) return undefined;
    const lease = new KeptLease(client, id, ttlSeconds);
    void lease.keepAlive();
    return lease;
  }

  async grant(): Promise<string> {
    return this.id;
  }

  async revoke(): Promise<unknown> {
    this.closed = true;
    return this.client.leaseRevoke({ ID: this.id });
  }

  release(): void {
    this.closed = true;
  }

  private async keepAlive(): Promise<void> {
    const intervalMs = (this.ttlSeconds * 1_000) / 3;
    while (!this.closed) {
      if (Date.now() - this.lastAlive > 2 * this.ttlSeconds * 1_000) return this.lose(new Error(`no keepalive answer for ${2 * this.ttlSeconds} s`));
      try {
        await this.stream(intervalMs);
      } catch (err) {
        if (this.closed) return; // released, revoked or lost
        this.emit('keepalive', err instanceof Error ? err : new Error(describeError(err)));
        await delay(100);
      }
    }
  }

  /** One keepalive stream: a ping every interval until it breaks (throws) or the lease is closed. */
  private async stream(intervalMs: number): Promise<void> {
    const stream = await this.client.leaseKeepAlive();
    let broken: ((err: Error) => void) | undefined;
    const failed = new Promise<never>((_, reject) => (broken = reject));
    failed.catch(() => undefined);
    stream.on('error', (err: Error) => broken?.(err));
    stream.on('end', () => broken?.(new Error('keepalive stream ended')));
    stream.on('data', (res: { TTL: string }) => {
      if (Number(res.TTL) <= 0) {
        this.lose(new Error('etcd says the lease expired'));
        return broken?.(new Error('lease expired'));
      }
      this.lastAlive = Date.now();
      this.emit('keepalive', undefined);
    });
    try {
      while (!this.closed) {
        stream.write({ ID: this.id });
        await Promise.race([delay(intervalMs), failed]);
        if (Date.now() - this.lastAlive > this.ttlSeconds * 1_000) throw new Error(`no keepalive answer in ${this.ttlSeconds} s`);
      }
    } finally {
      stream.end();
    }
  }

  private lose(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('lost', err);
  }
}
