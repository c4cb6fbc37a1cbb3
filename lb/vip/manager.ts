import type { Namespace } from 'etcd3';
import type { Logger } from '../../src/log.js';
import type { Model } from '../model.js';
import { VipAllocator, type VipAllocatorStatus } from './allocator.js';
import { VipInterface } from './iface.js';
import { VipPool } from './pool.js';

export interface VipSettings {
  /** The router config's `vipPool` (CIDR). */
  pool: string;
  /** The router config's `vipInterface`: the router adds its VIPs there. */
  interface: string | undefined;
}

/**
 * The router's VIP side, run after every model build: hand the model's plan to
 * the allocator (etcd, in the background: the keys it writes come back through
 * the watch as the next model), and put the model's VIPs on the interface
 * before the targets bind them.
 */
export class VipManager {
  readonly pool: VipPool;
  private readonly allocator: VipAllocator;
  private readonly iface: VipInterface | undefined;

  constructor(settings: VipSettings, kv: Namespace, logger: Logger) {
    this.pool = VipPool.parse(settings.pool);
    this.allocator = new VipAllocator(kv, logger.child({ component: 'vip' }));
    this.iface = settings.interface ? new VipInterface(settings.interface, this.pool, logger.child({ component: 'vip' })) : undefined;
  }

  async onModel(model: Model): Promise<void> {
    if (model.vips) this.allocator.reconcile(model.vips);
    await this.iface?.sync(model.services.flatMap((s) => (s.vip ? [s.vip.address] : [])));
  }

  status(): { pool: string; interface: { error: string | null } | null } & VipAllocatorStatus {
    return { pool: this.pool.cidr, interface: this.iface ? { error: this.iface.error ?? null } : null, ...this.allocator.status() };
  }

  close(): void {
    this.allocator.close();
  }
}
