import type { Namespace } from 'etcd3';
import { Backoff } from '../../src/backoff.js';
import { mapConcurrent } from '../../src/concurrency.js';
import { describeError } from '../../src/errors.js';
import { Keys } from '../../src/keyspace.js';
import type { Logger } from '../../src/log.js';
import type { VipCreate, VipPlan, VipRelease } from './plan.js';

/** The etcd side of a VipPlan. */
export type VipWrites = Pick<VipPlan, 'create' | 'release'>;

export interface VipAllocatorStatus {
  created: number;
  released: number;
  /** Creates another router won first: the next plan probes on. */
  lostRaces: number;
  lastError: { at: string; message: string } | undefined;
}

/**
 * The one write path for `vips/` keys: executes a VipPlan with etcd
 * transactions. Create only if the key does not exist (createRevision == 0),
 * delete only if it still names the service. Latest plan wins: one run at a
 * time, a plan handed in meanwhile replaces the queued one. A failed run is
 * retried with backoff (with the newest plan).
 */
export class VipAllocator {
  private running = false;
  private queued: VipWrites | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly backoff = new Backoff(200, 5_000);
  private readonly counters: VipAllocatorStatus = { created: 0, released: 0, lostRaces: 0, lastError: undefined };

  constructor(
    private readonly kv: Namespace,
    private readonly logger: Logger,
  ) {}

  status(): VipAllocatorStatus {
    return { ...this.counters };
  }

  /** Hands in the newest plan; returns at once. */
  reconcile(plan: VipWrites): void {
    if (this.closed || (plan.create.length === 0 && plan.release.length === 0)) return;
    this.queued = plan;
    if (!this.running) void this.drain();
  }

  close(): void {
    this.closed = true;
    this.queued = undefined;
    clearTimeout(this.retryTimer);
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queued && !this.closed) {
        const plan = this.queued;
        this.queued = undefined;
        try {
          await this.execute(plan);
          this.backoff.reset();
          this.counters.lastError = undefined;
        } catch (err) {
          const message = describeError(err);
          this.counters.lastError = { at: new Date().toISOString(), message };
          this.logger.warn({ err: message }, 'VIP allocation failed; retrying');
          if (this.queued) continue; // a newer plan is waiting: try that at once
          clearTimeout(this.retryTimer);
          this.retryTimer = setTimeout(() => this.reconcile(this.queued ?? plan), this.backoff.next());
          return;
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async execute(plan: VipWrites): Promise<void> {
    await mapConcurrent(plan.release, 8, (release) => this.release(release));
    await mapConcurrent(plan.create, 8, (create) => this.create(create));
  }

  private async create({ service, address }: VipCreate): Promise<void> {
    const key = Keys.vip(address);
    const result = await this.kv.if(key, 'Create', '==', 0).then(this.kv.put(key).value(service)).else(this.kv.get(key)).commit();
    if (result.succeeded) {
      this.counters.created += 1;
      this.logger.info({ service, vip: address }, 'VIP allocated');
      return;
    }
    const holder = result.responses[0]?.response_range?.kvs?.[0]?.value?.toString();
    if (holder !== service) this.counters.lostRaces += 1;
    this.logger.debug({ service, vip: address, holder }, 'VIP already taken; the next plan probes on');
  }

  private async release({ key, service, address }: VipRelease): Promise<void> {
    const result = await this.kv.if(key, 'Value', '==', service).then(this.kv.delete().key(key)).commit();
    if (result.succeeded) {
      this.counters.released += 1;
      this.logger.info({ service, vip: address }, 'VIP released');
    }
  }
}
