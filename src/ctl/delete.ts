import type { Namespace } from 'etcd3';
import { FabricError } from '../errors.js';
import { etcdCall } from '../etcd-errors.js';
import { serviceName } from '../grammar.js';
import { Keys } from '../keyspace.js';
import { assertCertName } from './certs.js';
import type { ResourceKind } from './documents.js';
import { specKey } from './specs.js';

/** What `fabric delete` removes: a spec, or a certificate (`certs/<name>`). */
export type DeleteKind = ResourceKind | 'Cert';

/** `fabric delete service|route|cert` (and their plurals) → the kind it names. */
export function parseDeleteKind(word: string): DeleteKind {
  const kinds: Record<string, DeleteKind> = { service: 'Service', services: 'Service', route: 'Route', routes: 'Route', cert: 'Cert', certs: 'Cert' };
  const kind = kinds[word];
  if (!kind) throw new FabricError('FABRIC_ERR_SPEC', `cannot delete "${word}": expected service, route or cert`);
  return kind;
}

function keyOf(kind: DeleteKind, name: string): string {
  return kind === 'Cert' ? Keys.cert(name) : specKey(kind, name);
}

/**
 * Deletes every named spec in one transaction, or none: the transaction holds
 * only if every key exists, and when one does not the error names each missing one.
 */
export async function deleteResources(kv: Namespace, kind: DeleteKind, names: string[], maxTxnOps: number): Promise<string[]> {
  for (const name of names) assertName(kind, name);
  const unique = [...new Set(names)];
  if (unique.length > maxTxnOps) {
    throw new FabricError(
      'FABRIC_ERR_TOO_LARGE',
      `${unique.length} deletes do not fit in one etcd transaction (more than --max-txn-ops ${maxTxnOps}); nothing deleted: delete fewer names at a time`,
    );
  }
  const keys = unique.map((name) => keyOf(kind, name));
  const [first, ...rest] = keys as [string, ...string[]];
  const txn = kv.if(first, 'Version', '>', 0);
  for (const key of rest) txn.and(key, 'Version', '>', 0);
  const response = await etcdCall('delete', keys, () => txn.then(...keys.map((key) => kv.delete().key(key))).commit());
  if (response.succeeded) return unique.map((name) => `${kind.toLowerCase()}/${name} deleted`);
  throw await notFound(kv, kind, unique);
}

async function notFound(kv: Namespace, kind: DeleteKind, names: string[]): Promise<FabricError> {
  const keys = names.map((name) => keyOf(kind, name));
  const present = await etcdCall('read', keys, () => Promise.all(keys.map((key) => kv.get(key).exists())));
  const missing = names.filter((_, i) => !present[i]);
  const list = missing.map((name) => `"${name}"`).join(', ');
  return new FabricError('FABRIC_ERR_NOT_FOUND', `${kind.toLowerCase()} ${list || '(changed concurrently)'} not found; nothing deleted`, {
    details: { kind, missing },
  });
}

function assertName(kind: DeleteKind, name: string): void {
  if (kind === 'Cert') {
    assertCertName(name);
    return;
  }
  const result = serviceName.safeParse(name);
  if (!result.success) throw new FabricError('FABRIC_ERR_SPEC', `"${name}": ${result.error.issues[0]?.message ?? 'invalid name'}`);
}
