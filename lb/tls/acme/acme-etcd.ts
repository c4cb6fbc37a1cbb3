import type { Lease, Namespace } from 'etcd3';
import { delay } from '../../../src/backoff.js';
import { describeError } from '../../../src/errors.js';
import { describeLeaseLoss } from '../../../src/etcd-errors.js';
import { Keys } from '../../../src/keyspace.js';
import type { Logger } from '../../../src/log.js';
import { decodeEntry } from '../../../src/model/entry.js';
import { type CertRecord, encodeCertRecord } from '../../../src/tls/cert-record.js';
import { AcmeKeys } from './keys.js';
import { type AcmeModel, collectAcme } from './model-part.js';
import { type AccountRecord, type AcmeState, accountSchema } from './records.js';

/**
 * The etcd side of the ACME loop. Locks and challenges live on one lease of this router:
 * a router that dies mid-order frees its locks, and its challenges vanish, within the TTL.
 * Every lock is a create-if-absent transaction (as `vips/` are), so racing routers never
 * order one certificate twice.
 */
export class AcmeEtcd {
  private lease: Lease | undefined;
  private leaseId: Promise<string> | undefined;
  /** The value of each lock this router holds: released only while it is still ours. */
  private readonly held = new Map<string, string>();

  constructor(
    private readonly kv: Namespace,
    private readonly routerId: string,
    private readonly ttlSeconds: number,
    private readonly logger: Logger,
  ) {}

  /** Takes `acme/locks/<name>` if nobody holds it. */
  async tryLock(name: string): Promise<boolean> {
    const key = AcmeKeys.lock(name);
    const value = JSON.stringify({ routerId: this.routerId, since: new Date().toISOString() });
    const leaseId = await this.grantedLease();
    const result = await this.kv.if(key, 'Create', '==', 0).then(this.kv.put(key).value(value).lease(leaseId)).commit();
    if (result.succeeded) this.held.set(name, value);
    return result.succeeded;
  }

  /** Deletes the lock if it is still ours (a lost lease may have let another router take it). */
  async unlock(name: string): Promise<void> {
    const value = this.held.get(name);
    this.held.delete(name);
    if (value === undefined) return;
    const key = AcmeKeys.lock(name);
    await this.kv.if(key, 'Value', '==', value).then(this.kv.delete().key(key)).commit();
  }

  /** Publishes a challenge on this router's lease; returns etcd's revision after the put. */
  async publishChallenge(token: string, keyAuthorization: string): Promise<number> {
    const put = await this.kv
      .put(AcmeKeys.challenge(token))
      .value(keyAuthorization)
      .lease(await this.grantedLease())
      .exec();
    return Number(put.header.revision);
  }

  async withdrawChallenge(token: string): Promise<void> {
    await this.kv.delete().key(AcmeKeys.challenge(token)).exec();
  }

  /**
   * Waits until every router publishing its status (`status/routers/`) has applied `revision`:
   * then the CA gets the answer whichever router it reaches. A router that does not get there
   * within `timeoutMs` (a failing target, a stale status) does not hold the order up longer.
   */
  async waitRoutersApplied(revision: number, timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const docs = await this.kv.getAll().prefix(Keys.routerStatusRoot).strings();
      const behind = Object.entries(docs)
        .filter(([, text]) => !(appliedRevision(text) >= revision))
        .map(([key]) => key.slice(Keys.routerStatusRoot.length));
      if (behind.length === 0 || Date.now() >= deadline) return behind;
      await delay(50);
    }
  }

  /** The certificate's keys read afresh (after taking its lock: the model may be behind). */
  async readFresh(name: string): Promise<AcmeModel> {
    const keys = [AcmeKeys.cert(name), AcmeKeys.state(name), AcmeKeys.renew(name)];
    const values = await Promise.all(keys.map((key) => this.kv.get(key).string()));
    const entries = keys.flatMap((key, i) => (values[i] === null ? [] : [decodeEntry(key, values[i]!, 0)]));
    return collectAcme(entries, []);
  }

  async writeState(state: AcmeState): Promise<void> {
    await this.kv.put(AcmeKeys.state(state.name)).value(JSON.stringify(state)).exec();
  }

  /** The certificate, its state, and the renewal request answered: one transaction. */
  async writeIssued(record: CertRecord, state: AcmeState): Promise<void> {
    await this.kv
      .if(AcmeKeys.cert(record.name), 'Create', '>', -1) // always true: a transaction needs a compare
      .then(
        this.kv.put(AcmeKeys.cert(record.name)).value(encodeCertRecord(record)),
        this.kv.put(AcmeKeys.state(state.name)).value(JSON.stringify(state)),
        this.kv.delete().key(AcmeKeys.renew(record.name)),
      )
      .commit();
  }

  /** The account record, if one exists for any directory. */
  async readAccount(): Promise<{ record: AccountRecord; modRevision: string } | undefined> {
    const kvs = (await this.kv.get(AcmeKeys.account).exec()).kvs;
    const kv = kvs[0];
    if (!kv) return undefined;
    const parsed = accountSchema.safeParse(JSON.parse(kv.value.toString()));
    return parsed.success ? { record: parsed.data, modRevision: kv.mod_revision } : undefined;
  }

  /** Writes the account if `acme/account` is still as read (absent: `modRevision` undefined). Returns whether it did. */
  async writeAccount(record: AccountRecord, modRevision: string | undefined): Promise<boolean> {
    const key = AcmeKeys.account;
    const put = this.kv.put(key).value(JSON.stringify(record));
    const txn = modRevision === undefined ? this.kv.if(key, 'Create', '==', 0) : this.kv.if(key, 'Mod', '==', modRevision);
    return (await txn.then(put).commit()).succeeded;
  }

  /** Revokes the lease: this router's locks and challenges go at once. Idempotent. */
  async close(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    this.leaseId = undefined;
    await lease?.revoke().catch((err) => this.logger.warn({ err: describeError(err) }, 'could not revoke the ACME lease; it expires with its TTL'));
  }

  private grantedLease(): Promise<string> {
    if (this.leaseId) return this.leaseId;
    const lease = this.kv.lease(this.ttlSeconds);
    lease.on('lost', (err) => {
      if (lease !== this.lease) return;
      this.logger.warn({ err: describeLeaseLoss(undefined, err, this.ttlSeconds) }, 'ACME lease lost: its locks and challenges are gone; granting a new one');
      this.lease = undefined;
      this.leaseId = undefined;
      this.held.clear();
    });
    this.lease = lease;
    this.leaseId = lease.grant();
    this.leaseId.catch(() => {
      if (this.lease === lease) {
        this.lease = undefined;
        this.leaseId = undefined;
      }
    });
    return this.leaseId;
  }
}

function appliedRevision(text: string): number {
  try {
    const value = (JSON.parse(text) as { appliedRevision?: unknown }).appliedRevision;
    return typeof value === 'number' ? value : -1;
  } catch {
    return -1;
  }
}
