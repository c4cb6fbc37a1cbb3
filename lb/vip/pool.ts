import ipaddr from 'ipaddr.js';
import { FabricError } from '../../src/errors.js';

/** Largest pool fabric will hand out from: bounds the probe over free addresses. */
const MAX_POOL_SIZE = 1 << 16;

/**
 * A router's `vipPool` (a CIDR), as an ordered list of usable addresses. For
 * IPv4 prefixes shorter than /31 the network and broadcast addresses are left
 * out; for IPv6 the subnet-router anycast address (the first) is.
 */
export class VipPool {
  readonly cidr: string;
  private readonly base: ipaddr.IPv4 | ipaddr.IPv6;
  private readonly prefix: number;
  private readonly first: bigint;
  /** How many usable addresses the pool holds (capped at MAX_POOL_SIZE). */
  readonly size: number;

  private constructor(cidr: string) {
    let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
    try {
      parsed = ipaddr.parseCIDR(cidr);
    } catch (err) {
      throw new FabricError('FABRIC_ERR_CONFIG', `vipPool ${JSON.stringify(cidr)} is not a CIDR`, { cause: err });
    }
    const [address, prefix] = parsed;
    this.base = address;
    this.prefix = prefix;
    const bits = address.kind() === 'ipv4' ? 32 : 128;
    const network = toBigInt(address) & ~((1n << BigInt(bits - prefix)) - 1n);
    const total = 1n << BigInt(bits - prefix);
    const skipEnds = address.kind() === 'ipv4' ? total > 2n : total > 1n;
    this.first = network + (skipEnds ? 1n : 0n);
    const usable = address.kind() === 'ipv4' && skipEnds ? total - 2n : skipEnds ? total - 1n : total;
    this.size = Number(usable > BigInt(MAX_POOL_SIZE) ? BigInt(MAX_POOL_SIZE) : usable);
    this.cidr = `${fromBigInt(network, address.kind()).toString()}/${prefix}`;
  }

  static parse(cidr: string): VipPool {
    return new VipPool(cidr);
  }

  /** The pool's `index`-th usable address (0-based), normalized (`10.0.0.7`, `fd00::7`). */
  at(index: number): string {
    if (index < 0 || index >= this.size) throw new RangeError(`index ${index} outside a pool of ${this.size}`);
    return fromBigInt(this.first + BigInt(index), this.base.kind()).toString();
  }

  /** Whether `address` is one the pool hands out. */
  contains(address: string): boolean {
    const index = this.indexOf(address);
    return index !== undefined;
  }

  indexOf(address: string): number | undefined {
    if (!ipaddr.isValid(address)) return undefined;
    const parsed = ipaddr.parse(address);
    if (parsed.kind() !== this.base.kind() || !parsed.match(this.base, this.prefix)) return undefined;
    const offset = toBigInt(parsed) - this.first;
    return offset >= 0n && offset < BigInt(this.size) ? Number(offset) : undefined;
  }
}

/** The canonical text of an address (etcd keys and HAProxy binds use it). */

function toBigInt(address: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  return address.toByteArray().reduce((n, byte) => (n << 8n) | BigInt(byte), 0n);
}

function fromBigInt(value: bigint, kind: 'ipv4' | 'ipv6'): ipaddr.IPv4 | ipaddr.IPv6 {
  const length = kind === 'ipv4' ? 4 : 16;
  const bytes: number[] = [];
  for (let i = 0; i < length; i++) bytes.unshift(Number((value >> BigInt(8 * i)) & 0xffn));
  return ipaddr.fromByteArray(bytes);
}
