import { BrokenCircuitError } from 'cockatiel';
import { EtcdAuthenticationFailedError, EtcdLeaseInvalidError, EtcdPermissionDeniedError, isRecoverableError } from 'etcd3';
import { describeError, FabricError } from './errors.js';

/** The connection a call went through, for messages: the endpoints tried, the user, the key prefix. */
export interface EtcdTarget {
  endpoints: string[];
  user?: string | undefined;
  prefix: string;
}

/** An etcd call that failed, with what it was doing (keys relative to --etcd-prefix): explainEtcdError names both. */
export class EtcdCallError extends Error {
  constructor(
    readonly operation: EtcdOperation,
    readonly keys: string[],
    cause: unknown,
  ) {
    super(`${operation} ${keys.join(', ')}: ${describeError(cause)}`, { cause });
    this.name = 'EtcdCallError';
  }
}

export type EtcdOperation = 'read' | 'write' | 'delete';

/** `call()`, its failure marked with the operation and the keys (or prefixes) it touched. */
export async function etcdCall<T>(operation: EtcdOperation, keys: string | string[], call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw err instanceof FabricError ? err : new EtcdCallError(operation, typeof keys === 'string' ? [keys] : keys, err);
  }
}

/** Keys named in a message: the first few, then how many more. */
const NAMED_KEYS = 3;

/**
 * etcd3's error → a FabricError that says what failed, where, and what to check:
 * FABRIC_ERR_PERMISSION (names the operation, the key and the user) or
 * FABRIC_ERR_ETCD_UNAVAILABLE (names the endpoints tried). Anything else is returned as is.
 */
export function explainEtcdError(err: unknown, target: EtcdTarget): unknown {
  if (err instanceof FabricError) return err;
  const call = err instanceof EtcdCallError ? err : undefined;
  const cause = call ? call.cause : err;
  const operation = call?.operation ?? 'read';
  const keys = call?.keys.map((key) => `${target.prefix.replace(/\/$/, '')}/${key}`) ?? [target.prefix];
  const where = keys.length > NAMED_KEYS ? `${keys.slice(0, NAMED_KEYS).join(', ')} and ${keys.length - NAMED_KEYS} more keys` : keys.join(', ');
  const details = { operation, keys, user: target.user, endpoints: target.endpoints };
  const message = describeError(cause);
  if (cause instanceof EtcdPermissionDeniedError || /permission denied/i.test(message)) {
    const who = target.user ? `etcd user "${target.user}"` : 'etcd (no --etcd-user given)';
    return new FabricError(
      'FABRIC_ERR_PERMISSION',
      `${who} may not ${operation} ${where}: permission denied; grant the user's role ${operation === 'read' ? 'read' : 'write'} access to that key or prefix`,
      { cause, details },
    );
  }
  if (cause instanceof EtcdAuthenticationFailedError || /user name is empty|invalid user ID or password/i.test(message)) {
    const what = target.user
      ? `authentication of etcd user "${target.user}" failed (wrong user or password)`
      : 'etcd requires authentication: pass --etcd-user and --etcd-password-file';
    return new FabricError('FABRIC_ERR_PERMISSION', `cannot ${operation} ${where}: ${what}`, { cause, details });
  }
  if (isUnavailable(cause)) {
    return new FabricError(
      'FABRIC_ERR_ETCD_UNAVAILABLE',
      `cannot ${operation} ${where}: no etcd answered at ${target.endpoints.join(', ')} (${unavailableReason(cause, message)}); check --etcd (FABRIC_ETCD) and that etcd is running`,
      { cause, details },
    );
  }
  return err;
}

/**
 * The last failure etcd3's per-member circuit breaker saw (src/etcd.ts notes it): once the breaker
 * opens, calls fail with "circuit breaker is open", and the reason (refused, a TLS handshake
 * without the client certificate…) would be lost from the message.
 */
let lastBreakerFailure: string | undefined;

export function noteBreakerFailure(err: unknown): void {
  if (!(err instanceof BrokenCircuitError)) lastBreakerFailure = describeError(err);
}

function unavailableReason(cause: unknown, message: string): string {
  if (cause instanceof BrokenCircuitError && lastBreakerFailure) return `${grpcReason(lastBreakerFailure)}; calls paused while it stays unreachable`;
  return grpcReason(message);
}

function isUnavailable(err: unknown): boolean {
  if (err instanceof BrokenCircuitError) return true;
  if (err instanceof Error && isRecoverableError(err)) return true;
  const text = err instanceof Error ? `${err.name} ${err.message}` : String(err);
  return /GRPCConnectFailed|Unavailable|Deadline|BrokenCircuit/i.test(text);
}

/**
 * gRPC's message without its noise: `14 UNAVAILABLE: No connection established. Last error:
 * Error: connect ECONNREFUSED 127.0.0.1:2379. Resolution note: ` → `connect ECONNREFUSED 127.0.0.1:2379`.
 */
export function grpcReason(message: string): string {
  const lastError = /Last error: (?:Error: )?(.*?)\.?(?:\s*Resolution note:.*)?$/s.exec(message);
  const reason = lastError ? lastError[1]! : message.replace(/\s*Resolution note:\s*$/, '');
  return reason.replace(/^\d+ [A-Z_]+: /, '').trim() || message;
}

/**
 * Why a lease was lost, as one sentence with its id. etcd3 reports both causes with one class,
 * whose message is `Lease ${id} is expired or revoked`: when the client gave up after 2×TTL
 * without a keepalive, it passes a sentence where the id goes ("Lease We lost connection …").
 */
export function describeLeaseLoss(leaseId: string | undefined, err: unknown, ttlSeconds: number): string {
  const lease = leaseId ? `lease ${leaseId}` : 'the lease';
  const message = describeError(err);
  if (err instanceof EtcdLeaseInvalidError && /lost connection/i.test(message)) {
    return `${lease} expired: no keepalive reached etcd for ${2 * ttlSeconds}s (2×TTL)`;
  }
  if (err instanceof EtcdLeaseInvalidError) return `${lease} is expired or revoked: etcd no longer knows it`;
  return `${lease} was lost: ${message}`;
}
