import { runCommand } from '../../src/command.js';
import { describeError, FabricError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { normalizeAddress } from '../../src/model/entry.js';
import type { VipPool } from './pool.js';

const INTERFACE = /^[A-Za-z0-9_.:-]{1,15}$/;

export interface InterfaceChanges {
  add: string[];
  remove: string[];
}

/**
 * Pure: the pool addresses on the interface vs the VIPs the router serves →
 * `ip addr add|del`. Addresses outside the pool are never touched.
 */
export function planInterface(current: string[], wanted: string[], pool: VipPool): InterfaceChanges {
  const have = new Set(current.map((a) => normalizeAddress(a) ?? a).filter((a) => pool.contains(a)));
  const want = new Set(wanted.filter((a) => pool.contains(a)));
  return { add: [...want].filter((a) => !have.has(a)).sort(), remove: [...have].filter((a) => !want.has(a)).sort() };
}

/** Addresses of `ip -o addr show dev X` output. */
export function parseIpAddrShow(text: string): string[] {
  return [...text.matchAll(/\binet6?\s+([0-9a-fA-F.:]+)\//g)].map((m) => m[1]!);
}

/**
 * Thin iproute2 adapter for `vipInterface`: keeps exactly the router's VIPs
 * (those of its pool) on the interface, as /32 (IPv4) or /128 (IPv6).
 */
export class VipInterface {
  private lastError: string | undefined;

  constructor(
    private readonly name: string,
    private readonly pool: VipPool,
    private readonly logger: Logger,
    private readonly timeoutMs = 5_000,
  ) {
    if (!INTERFACE.test(name)) throw new FabricError('FABRIC_ERR_CONFIG', `vipInterface ${JSON.stringify(name)} is not an interface name`);
  }

  get error(): string | undefined {
    return this.lastError;
  }

  /** Never throws: a failure is logged and kept for /v1/status; HAProxy's reload then reports the bind. */
  async sync(wanted: string[]): Promise<InterfaceChanges> {
    try {
      const { stdout } = await runCommand(`ip -o addr show dev ${this.name}`, { timeoutMs: this.timeoutMs });
      const changes = planInterface(parseIpAddrShow(stdout), wanted, this.pool);
      for (const address of changes.add) await this.ip('add', address);
      for (const address of changes.remove) await this.ip('del', address);
      this.lastError = undefined;
      return changes;
    } catch (err) {
      this.lastError = describeError(err);
      this.logger.error({ interface: this.name, err: this.lastError }, 'could not update the VIPs on the interface');
      return { add: [], remove: [] };
    }
  }

  private async ip(verb: 'add' | 'del', address: string): Promise<void> {
    const prefix = address.includes(':') ? 128 : 32;
    await runCommand(`ip addr ${verb} ${address}/${prefix} dev ${this.name}`, { timeoutMs: this.timeoutMs });
    this.logger.info({ interface: this.name, vip: address }, verb === 'add' ? 'VIP added to the interface' : 'VIP removed from the interface');
  }
}
