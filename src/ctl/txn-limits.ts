import { FabricError } from '../errors.js';

/**
 * What one etcd transaction may hold (etcd's `--max-txn-ops` and `--max-request-bytes`).
 * etcd checks both only when the request arrives; fabric checks them before it writes
 * anything, so a file that does not fit is refused whole, and `--dry-run` says so too.
 */
export interface TxnLimits {
  maxOps: number;
  maxBytes: number;
  /** The namespace keys are written under (`/fabric/`): it is part of every key sent. */
  keyPrefix: string;
}

export const ETCD_DEFAULT_LIMITS = { maxOps: 128, maxBytes: 1.5 * 1024 * 1024 } as const;

/**
 * etcd measures the request wrapped for raft (a header with an id and the user name),
 * a few dozen bytes more than the transaction itself: keep that much below the limit.
 */
const RAFT_OVERHEAD_BYTES = 512;

/** A write as a guarded transaction carries it: one `Mod == revision` compare and one put. */
export interface TxnWrite {
  key: string;
  value: string;
  modRevision: string;
}

/**
 * The bytes one write adds to a TxnRequest's protobuf encoding: a Compare (target MOD,
 * key, mod_revision) in `compare` and a RequestOp holding a PutRequest (key, value) in
 * `success`. Exact for these fields, so the sum is what etcd receives.
 */
export function writeBytes(write: TxnWrite, keyPrefix: string): number {
  const key = Buffer.byteLength(keyPrefix) + Buffer.byteLength(write.key);
  const compare = 2 + bytesField(key) + 1 + varintSize(BigInt(write.modRevision));
  const put = bytesField(key) + bytesField(Buffer.byteLength(write.value));
  const op = 1 + varintSize(BigInt(put)) + put;
  return 1 + varintSize(BigInt(compare)) + compare + (1 + varintSize(BigInt(op)) + op);
}

function bytesField(length: number): number {
  return 1 + varintSize(BigInt(length)) + length;
}

function varintSize(value: bigint): number {
  let size = 1;
  for (let v = value >> 7n; v > 0n; v >>= 7n) size += 1;
  return size;
}

/**
 * The writes in transactions that each fit the limits, in order. One write that alone is
 * larger than a request may be is refused: no split can send it.
 */
export function splitWrites<W extends TxnWrite>(writes: W[], limits: TxnLimits, describe: (write: W) => string): W[][] {
  const budget = limits.maxBytes - RAFT_OVERHEAD_BYTES;
  const batches: W[][] = [];
  let batch: W[] = [];
  let bytes = 0;
  for (const write of writes) {
    const size = writeBytes(write, limits.keyPrefix);
    if (size > budget) {
      throw new FabricError(
        'FABRIC_ERR_TOO_LARGE',
        `${describe(write)} alone is ${formatBytes(size)}, more than one etcd request may be (--max-request-bytes ${formatBytes(limits.maxBytes)}); nothing applied`,
      );
    }
    if (batch.length === limits.maxOps || bytes + size > budget) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(write);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** Refuses writes that need more than one transaction, saying which limit they pass and what to do. */
export function assertOneTransaction(writes: TxnWrite[], batches: number, limits: TxnLimits): void {
  if (batches <= 1) return;
  const bytes = writes.reduce((sum, write) => sum + writeBytes(write, limits.keyPrefix), 0) + RAFT_OVERHEAD_BYTES;
  const over = [
    writes.length > limits.maxOps ? `more than etcd's --max-txn-ops (${limits.maxOps})` : undefined,
    bytes > limits.maxBytes ? `${formatBytes(bytes)}, more than etcd's --max-request-bytes (${formatBytes(limits.maxBytes)})` : undefined,
  ].filter(Boolean);
  throw new FabricError(
    'FABRIC_ERR_TOO_LARGE',
    `${writes.length} changes do not fit in one etcd transaction (${over.join('; ')}); nothing applied. ` +
      `Split the file, raise the cluster's limits and pass the same --max-txn-ops/--max-request-bytes, ` +
      `or apply it with --chunked in ${batches} transactions (not all or nothing)`,
    { details: { changes: writes.length, bytes, transactions: batches, maxTxnOps: limits.maxOps, maxRequestBytes: limits.maxBytes } },
  );
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1).replace(/\.0$/, '')} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(2).replace(/\.?0+$/, '')} MiB`;
}
