import type { Namespace } from 'etcd3';
import { FabricError } from '../errors.js';
import { listPrefix } from '../etcd.js';
import { Keys } from '../keyspace.js';
import type { Resource } from './documents.js';
import { canonicalStored, changedFields, encodeSpec, specKey } from './specs.js';

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
  /** The revision every write landed at; undefined when nothing was written. */
  revision: number | undefined;
}

const ATTEMPTS = 3;

/**
 * plan (read what etcd holds, compare) → commit (one transaction, guarded by
 * every changed key's mod revision). A concurrent writer makes the guard fail
 * and the whole apply is planned again, so it stays all or nothing.
 */
export async function applyResources(kv: Namespace, resources: Resource[], dryRun: boolean): Promise<ApplyResult> {
  for (let attempt = 1; ; attempt++) {
    const changes = await planApply(kv, resources);
    if (dryRun) return { changes, revision: undefined };
    const writes = changes.filter((c) => c.action !== 'unchanged');
    if (writes.length === 0) return { changes, revision: undefined };
    const revision = await commitChanges(kv, writes);
    if (revision !== undefined) return { changes, revision };
    if (attempt >= ATTEMPTS) {
      throw new FabricError('FABRIC_ERR_CONFLICT', `the specs changed in etcd while applying (${ATTEMPTS} attempts); nothing applied`);
    }
  }
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
  const [services, routes] = await Promise.all([listPrefix(kv, Keys.servicesRoot), listPrefix(kv, Keys.routesRoot)]);
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

/** One transaction for every write; resolves with its revision, or undefined when a guard failed. */
export async function commitChanges(kv: Namespace, writes: PlannedChange[]): Promise<number | undefined> {
  const [first, ...rest] = writes as [PlannedChange, ...PlannedChange[]];
  const txn = kv.if(first.key, 'Mod', '==', first.modRevision);
  for (const change of rest) txn.and(change.key, 'Mod', '==', change.modRevision);
  txn.then(...writes.map((change) => kv.put(change.key).value(change.value)));
  const response = await txn.commit().catch((err: unknown) => {
    throw explainTxnError(err, writes.length);
  });
  return response.succeeded ? Number(response.header.revision) : undefined;
}

function explainTxnError(err: unknown, operations: number): unknown {
  const message = err instanceof Error ? err.message : String(err);
  if (!/too many operations/i.test(message)) return err;
  return new FabricError(
    'FABRIC_ERR_SPEC',
    `${operations} changes do not fit in one etcd transaction (etcd's --max-txn-ops, default 128); split the file or raise the limit`,
    { cause: err },
  );
}

/** `service/web created`, kubectl's way; a dry run says so and names the fields it would change. */
export function describeChange(change: PlannedChange, dryRun: boolean): string {
  const id = `${change.resource.kind.toLowerCase()}/${change.resource.name}`;
  if (!dryRun) return `${id} ${change.action}`;
  const fields = change.action === 'configured' && change.fields.length > 0 ? `: ${change.fields.join(', ')}` : '';
  return `${id} ${change.action} (dry run)${fields}`;
}
