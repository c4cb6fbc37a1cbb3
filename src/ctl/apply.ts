import type { Namespace } from 'etcd3';
import { FabricError } from '../errors.js';
import { listPrefix } from '../etcd.js';
import { etcdCall } from '../etcd-errors.js';
import { Keys } from '../keyspace.js';
import { describeOrigin, type Resource } from './documents.js';
import { canonicalStored, changedFields, encodeSpec, specKey } from './specs.js';
import { assertOneTransaction, splitWrites, type TxnLimits } from './txn-limits.js';

export type ApplyAction = 'created' | 'configured' | 'unchanged';

/** What applying one resource does; `modRevision` is what the transaction compares against. */
export interface PlannedChange {
  resource: Resource;
  key: string;
  value: string;
  action: ApplyAction;
  /** The key's mod revision when read ('0': absent). */
  modRevision: string;
  fields: string[];
}

export interface ApplyResult {
  changes: PlannedChange[];
  /** The revision the last write landed at; undefined when nothing was written. */
  revision: number | undefined;
  /** Transactions written (or, on a dry run, that would be). */
  transactions: number;
}

export interface ApplyOptions {
  dryRun: boolean;
  limits: TxnLimits;
  /** Allow more than one transaction: each chunk is all or nothing, the whole apply is not. */
  chunked: boolean;
  /** Told after each chunk is written (chunked applies only). */
  onChunk?: (progress: ChunkProgress) => void;
}

export interface ChunkProgress {
  chunk: number;
  chunks: number;
  changes: number;
  revision: number;
}

const ATTEMPTS = 3;

/**
 * plan (read what etcd holds, compare) → fit (etcd's transaction limits) → commit (one
 * transaction, guarded by every changed key's mod revision). A concurrent writer makes the
 * guard fail and the whole apply is planned again, so it stays all or nothing. A dry run
 * stops after fit: it refuses exactly what the real apply would.
 */
export async function applyResources(kv: Namespace, resources: Resource[], options: ApplyOptions): Promise<ApplyResult> {
  if (options.chunked) return applyChunked(kv, resources, options);
  for (let attempt = 1; ; attempt++) {
    const changes = await planApply(kv, resources);
    const writes = changes.filter((c) => c.action !== 'unchanged');
    const batches = splitWrites(writes, options.limits, describeResource);
    assertOneTransaction(writes, batches.length, options.limits);
    if (options.dryRun || writes.length === 0) return { changes, revision: undefined, transactions: batches.length };
    const revision = await commitChanges(kv, writes);
    if (revision !== undefined) return { changes, revision, transactions: 1 };
    if (attempt >= ATTEMPTS) {
      throw new FabricError('FABRIC_ERR_CONFLICT', `the specs changed in etcd while applying (${ATTEMPTS} attempts); nothing applied`);
    }
  }
}

/**
 * `--chunked`: the writes in as many transactions as the limits need, in order, each one
 * guarded like a whole apply. A chunk whose guard fails is planned again from what etcd holds
 * then (the chunks already written now read as unchanged); what was written stays written.
 */
async function applyChunked(kv: Namespace, resources: Resource[], options: ApplyOptions): Promise<ApplyResult> {
  const first = await planApply(kv, resources);
  const outcome = new Map(first.map((change) => [change.key, change]));
  let chunks = splitWrites(pendingWrites(first), options.limits, describeResource);
  const planned = chunks.length;
  if (options.dryRun) return { changes: first, revision: undefined, transactions: planned };
  let revision: number | undefined;
  let written = 0;
  let conflicts = 0;
  for (let next = 0; next < chunks.length; ) {
    const chunk = chunks[next]!;
    const landed = await commitChanges(kv, chunk);
    if (landed === undefined) {
      conflicts += 1;
      if (conflicts >= ATTEMPTS) throw chunkConflict(written, planned);
      chunks = splitWrites(pendingWrites(await planApply(kv, resources)), options.limits, describeResource);
      next = 0;
      continue;
    }
    conflicts = 0;
    revision = landed;
    written += 1;
    next += 1;
    for (const change of chunk) outcome.set(change.key, change);
    options.onChunk?.({ chunk: written, chunks: written + chunks.length - next, changes: chunk.length, revision });
  }
  return { changes: first.map((change) => outcome.get(change.key)!), revision, transactions: written };
}

function pendingWrites(changes: PlannedChange[]): PlannedChange[] {
  return changes.filter((c) => c.action !== 'unchanged');
}

function chunkConflict(written: number, total: number): FabricError {
  return new FabricError(
    'FABRIC_ERR_CONFLICT',
    `the specs changed in etcd while applying in chunks (${ATTEMPTS} attempts at one chunk); ${written} of ${total} chunks were written and stay; apply the file again to finish`,
  );
}

function describeResource(change: PlannedChange): string {
  return `${change.resource.kind} ${change.resource.name} (${describeOrigin(change.resource.origin)})`;
}

export async function planApply(kv: Namespace, resources: Resource[]): Promise<PlannedChange[]> {
  const stored = await readStoredSpecs(kv);
  return resources.map((resource) => planOne(resource, stored.get(specKey(resource.kind, resource.name))));
}

interface StoredValue {
  raw: string;
  modRevision: string;
}

async function readStoredSpecs(kv: Namespace): Promise<Map<string, StoredValue>> {
  const [services, routes] = await Promise.all([
    etcdCall('read', Keys.servicesRoot, () => listPrefix(kv, Keys.servicesRoot)),
    etcdCall('read', Keys.routesRoot, () => listPrefix(kv, Keys.routesRoot)),
  ]);
  const stored = new Map<string, StoredValue>();
  for (const entry of [...services.kvs, ...routes.kvs]) {
    stored.set(entry.key.toString(), { raw: entry.value.toString(), modRevision: entry.mod_revision });
  }
  return stored;
}

function planOne(resource: Resource, stored: StoredValue | undefined): PlannedChange {
  const key = specKey(resource.kind, resource.name);
  const value = encodeSpec(resource.spec);
  if (!stored) return { resource, key, value, action: 'created', modRevision: '0', fields: [] };
  const before = canonicalStored(resource.kind, key, stored.raw);
  const action: ApplyAction = before === value ? 'unchanged' : 'configured';
  const fields = before === undefined ? ['(undecodable value replaced)'] : changedFields(before, value);
  return { resource, key, value, action, modRevision: stored.modRevision, fields };
}

/** One transaction for the writes (at most the limits allow); resolves with its revision, or undefined when a guard failed. */
export async function commitChanges(kv: Namespace, writes: PlannedChange[]): Promise<number | undefined> {
  const [first, ...rest] = writes as [PlannedChange, ...PlannedChange[]];
  const txn = kv.if(first.key, 'Mod', '==', first.modRevision);
  for (const change of rest) txn.and(change.key, 'Mod', '==', change.modRevision);
  txn.then(...writes.map((change) => kv.put(change.key).value(change.value)));
  const keys = writes.map((change) => change.key);
  const response = await etcdCall('write', keys, () =>
    txn.commit().catch((err: unknown) => {
      throw explainTxnError(err, writes.length);
    }),
  );
  return response.succeeded ? Number(response.header.revision) : undefined;
}

/** The cluster's limits are lower than the ones fabric was told: say which flag to lower. */
function explainTxnError(err: unknown, operations: number): unknown {
  const message = err instanceof Error ? err.message : String(err);
  if (/too many operations/i.test(message)) {
    return new FabricError(
      'FABRIC_ERR_TOO_LARGE',
      `etcd refused ${operations} operations in one transaction: its --max-txn-ops is lower; pass that value as --max-txn-ops`,
      {
        cause: err,
      },
    );
  }
  if (/request is too large|larger than max/i.test(message)) {
    return new FabricError(
      'FABRIC_ERR_TOO_LARGE',
      `etcd refused the request as too large: its --max-request-bytes is lower; pass that value as --max-request-bytes`,
      {
        cause: err,
      },
    );
  }
  return err;
}

/** `service/web created`, kubectl's way; a dry run says so and names the fields it would change. */
export function describeChange(change: PlannedChange, dryRun: boolean): string {
  const id = `${change.resource.kind.toLowerCase()}/${change.resource.name}`;
  if (!dryRun) return `${id} ${change.action}`;
  const fields = change.action === 'configured' && change.fields.length > 0 ? `: ${change.fields.join(', ')}` : '';
  return `${id} ${change.action} (dry run)${fields}`;
}
