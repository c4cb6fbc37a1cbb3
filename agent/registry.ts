import { EventEmitter } from 'node:events';
import type { IKeyValue, IOperation, Namespace } from 'etcd3';
import { describeError, FabricError } from '../src/errors.js';
import { listPrefix } from '../src/etcd.js';
import { describeLeaseLoss, EtcdCallError, type EtcdOperation, type EtcdTarget, etcdCall, explainEtcdError, grpcReason } from '../src/etcd-errors.js';
import { Keys, parseEndpointKey } from '../src/keyspace.js';
import type { Logger } from '../src/log.js';
import { grantedLease, type HeldLease, KeptLease } from './kept-lease.js';
import type { StoredKey, WritePlan } from './plan.js';

/** etcd refuses transactions with more than 128 operations. */
const MAX_TXN_OPS = 128;

export type LeaseState = 'none' | 'granting' | 'granted' | 'lost' | 'revoked';

/**
 * This host's keys in etcd, all on one lease. The lease is the agent's
 * heartbeat: when it is lost (etcd expired it), every key went with it, and the
 * agent must write them all again under a new one.
 */
export class HostRegistry extends EventEmitter {
  private lease: HeldLease | undefined;
  private leaseId: string | undefined;
  private currentState: LeaseState = 'none';
  /** Set while the lease's keepalive stream fails (etcd unreachable), cleared by the next success. */
  private keepaliveFailure: string | undefined;
  /** Nothing left to find in the older key layout (none there, or not readable): not read again. */
  private legacyDone = false;

  constructor(
    private readonly kv: Namespace,
    private readonly host: string,
    private readonly ttlSeconds: number,
    private readonly logger: Logger,
    /** Where etcd is and as whom, for error messages (endpoints tried, the user refused). */
    private readonly target: EtcdTarget = { endpoints: [], prefix: '/' },
  ) {
    super();
  }

  override on(event: 'lost', listener: (reason: string) => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: the implementation signature behind the typed overloads above
  override on(event: string, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  get state(): LeaseState {
    return this.currentState;
  }

  get id(): string | undefined {
    return this.currentState === 'granted' ? this.leaseId : undefined;
  }

  /**
   * Why the keepalive of the granted lease is failing, if it is: etcd is unreachable even when
   * the agent has nothing to write (the client itself gives the lease up only after 2×TTL).
   */
  get keepaliveError(): string | undefined {
    return this.currentState === 'granted' ? this.keepaliveFailure : undefined;
  }

  /**
   * The current lease id, granting a new lease when there is none. `keep`: the lease an earlier
   * agent of this host left its keys on (--keep-lease), kept alive instead when etcd still has it.
   */
  async ensureLease(keep?: string): Promise<string> {
    if (this.currentState === 'granted' && this.leaseId) return this.leaseId;
    this.currentState = 'granting';
    const kept = keep ? await this.keepLease(keep) : undefined;
    if (kept) return kept;
    return this.hold(grantedLease(this.kv.lease(this.ttlSeconds)), 'lease granted');
  }

  /** The earlier agent's lease, if etcd still has it; any failure means a new lease instead. */
  private async keepLease(id: string): Promise<string | undefined> {
    try {
      const kept = await KeptLease.keep(this.kv.leaseClient, id, this.ttlSeconds);
      if (kept) return await this.hold(kept, 'kept the lease of the previous agent');
      this.logger.info({ lease: id }, "the previous agent's lease has expired; granting a new one");
    } catch (err) {
      this.logger.warn({ lease: id, err: describeError(err) }, "could not keep the previous agent's lease; granting a new one");
    }
    return undefined;
  }

  /** Waits for the lease's id and makes it this host's; its loss and keepalive failures are watched. */
  private async hold(lease: HeldLease, granted: string): Promise<string> {
    lease.onLost((err) => this.onLost(lease, describeLeaseLoss(this.leaseId, err, this.ttlSeconds)));
    lease.onKeepalive((err) => {
      if (lease === this.lease) this.keepaliveFailure = err && describeError(err);
    });
    try {
      const id = await lease.grant();
      this.lease = lease;
      this.leaseId = id;
      this.keepaliveFailure = undefined;
      this.currentState = 'granted';
      this.logger.info({ lease: id, ttl: this.ttlSeconds }, granted);
      return id;
    } catch (err) {
      lease.release();
      this.currentState = 'lost';
      const at = this.target.endpoints.length ? ` (etcd at ${this.target.endpoints.join(', ')})` : '';
      throw new FabricError('FABRIC_ERR_ETCD_UNAVAILABLE', `lease grant: ${grpcReason(describeError(err))}${at}`, { cause: err });
    }
  }

  private onLost(lease: HeldLease, reason: string): void {
    if (lease !== this.lease || this.currentState !== 'granted') return;
    this.currentState = 'lost';
    this.lease = undefined;
    this.logger.warn({ lease: this.leaseId, reason }, 'lease lost');
    this.emit('lost', reason);
  }

  /**
   * Every key this host owns: its endpoints and its host record, below `hosts/<host>/`, and any
   * an older agent of this host left in the older layout (upgrade: they are deleted once the
   * new keys are written). Credentials confined to `hosts/<host>/` cannot read the older layout:
   * then there is nothing of it to clean up (the upgrade is done before etcd roles are tightened).
   */
  async read(): Promise<Map<string, StoredKey>> {
    const own = await this.etcd('read', [Keys.hostRoot(this.host)], () => listPrefix(this.kv, Keys.hostRoot(this.host)));
    const legacy = await this.readLegacy();
    const stored = new Map<string, StoredKey>();
    for (const kv of [...own.kvs, ...legacy]) stored.set(kv.key.toString(), { value: kv.value.toString(), lease: String(kv.lease) });
    return stored;
  }

  /** This host's keys in the older layout (`endpoints/<service>/<host>/<id>`, `hosts/<host>`); none when not readable. */
  private async readLegacy(): Promise<IKeyValue[]> {
    // Refused once, refused for good (a role confined to hosts/<host>/); none once, none for good (only
    // this host's agent writes its keys, and now in the new layout): no read of every endpoint per resync.
    if (this.legacyDone) return [];
    try {
      // Multi-range reads come back with the namespace stripped; single gets do not.
      const [endpoints, hosts] = await this.etcd('read', [Keys.endpointsRoot, Keys.legacyHost(this.host)], () =>
        Promise.all([listPrefix(this.kv, Keys.endpointsRoot), this.kv.getAll().prefix(Keys.legacyHost(this.host)).exec()]),
      );
      const mine = [...endpoints.kvs, ...hosts.kvs].filter((kv) => {
        const key = kv.key.toString();
        const parsed = parseEndpointKey(key);
        return parsed ? parsed.layout === 'legacy' && parsed.host === this.host : key === Keys.legacyHost(this.host);
      });
      this.legacyDone = mine.length === 0;
      return mine;
    } catch (err) {
      if (!(err instanceof FabricError && err.code === 'FABRIC_ERR_PERMISSION')) throw err;
      this.logger.debug({ err: describeError(err) }, 'the older key layout is not readable with these credentials; nothing of it to clean up');
      this.legacyDone = true;
      return [];
    }
  }

  /**
   * Writes a plan in as few transactions as etcd allows; returns how many. Deletes of older-layout
   * keys go last, on their own: credentials that may not delete them (a role confined to
   * `hosts/<host>/`) still write everything else, and those keys then expire with their lease.
   */
  async apply(plan: WritePlan, leaseId: string): Promise<number> {
    const legacy = plan.deletes.filter((key) => !key.startsWith(Keys.hostRoot(this.host)));
    const own = plan.deletes.filter((key) => key.startsWith(Keys.hostRoot(this.host)));
    const ops: IOperation[] = [
      ...own.map((key) => this.kv.delete().key(key)),
      ...plan.puts.map(({ key, value }) => this.kv.put(key).value(value).lease(leaseId)),
    ];
    let txns = await this.commit(ops, [...own, ...plan.puts.map(({ key }) => key)]);
    if (legacy.length === 0) return txns;
    try {
      txns += await this.commit(
        legacy.map((key) => this.kv.delete().key(key)),
        legacy,
      );
      this.logger.info({ keys: legacy.length }, 'removed the keys an older agent of this host wrote in the older layout');
    } catch (err) {
      if (!(err instanceof FabricError && err.code === 'FABRIC_ERR_PERMISSION')) throw err;
      this.logger.warn(
        { keys: legacy.length, err: describeError(err) },
        'cannot delete older-layout keys with these credentials; they expire with their lease',
      );
    }
    return txns;
  }

  private async commit(ops: IOperation[], keys: string[]): Promise<number> {
    let txns = 0;
    for (let i = 0; i < ops.length; i += MAX_TXN_OPS) {
      // etcd3's builder needs a comparison; "version > -1" holds for every key (and the agent may read its own).
      await this.etcd('write', keys.slice(i, i + MAX_TXN_OPS), () =>
        this.kv
          .if(Keys.hostInfo(this.host), 'Version', '>', -1)
          .then(...ops.slice(i, i + MAX_TXN_OPS))
          .commit(),
      );
      txns += 1;
    }
    return txns;
  }

  /** On shutdown: revoke (keys vanish now) or release (keys expire after the TTL). */
  async close(revoke: boolean): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    this.currentState = 'revoked';
    if (!lease) return;
    if (revoke) {
      await lease.revoke().catch((err) => this.logger.warn({ err: describeError(err) }, 'lease revoke failed'));
    } else {
      lease.release();
    }
  }

  /** An etcd call whose failure names what it did: FABRIC_ERR_PERMISSION, else FABRIC_ERR_ETCD_UNAVAILABLE. */
  private async etcd<T>(operation: EtcdOperation, keys: string[], fn: () => Promise<T>): Promise<T> {
    try {
      return await etcdCall(operation, keys, fn);
    } catch (err) {
      const explained = explainEtcdError(err, this.target);
      if (explained instanceof FabricError) throw explained;
      const cause = err instanceof EtcdCallError ? err.cause : err;
      throw new FabricError('FABRIC_ERR_ETCD_UNAVAILABLE', `etcd ${operation}: ${grpcReason(describeError(cause))}`, { cause });
    }
  }
}
