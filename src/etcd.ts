import { readFileSync } from 'node:fs';
import { ConsecutiveBreaker, circuitBreaker, ExponentialBackoff, handleWhen, type IBackoff, retry } from 'cockatiel';
import { Etcd3, GRPCDeadlineExceededError, type IKeyValue, type IOptions, isRecoverableError, type Namespace, Range } from 'etcd3';
import { FabricError } from './errors.js';
import { noteBreakerFailure } from './etcd-errors.js';
import { namespacePrefix } from './keyspace.js';

export interface EtcdOptions {
  endpoints: string[];
  prefix: string;
  cacert?: string;
  cert?: string;
  key?: string;
  user?: string;
  password?: string;
  /** Deadline for one unary call; streams (watch, keepalive) have none. */
  callTimeoutMs?: number;
}

export interface EtcdConnection {
  client: Etcd3;
  /** Every fabric key, relative to `--etcd-prefix`. */
  kv: Namespace;
  /**
   * A client of its own, for one long-lived watch (closed with the connection).
   * etcd3 multiplexes every watcher of a client on one stream, and when a
   * reconnect re-creates them from a compacted revision it has to guess which
   * one etcd cancelled (its issue #114) and can cancel the wrong one: with one
   * watcher per client the guess is always right.
   */
  watchClient(): { client: Etcd3; kv: Namespace };
  close(): void;
}

export function connectEtcd(options: EtcdOptions): EtcdConnection {
  const open = () => {
    const client = new Etcd3(clientOptions(options));
    return { client, kv: client.namespace(namespacePrefix(options.prefix)) };
  };
  const main = open();
  const watchers: Etcd3[] = [];
  return {
    ...main,
    watchClient: () => {
      const dedicated = open();
      watchers.push(dedicated.client);
      return dedicated;
    },
    close: () => {
      for (const client of [main.client, ...watchers]) client.close();
    },
  };
}

/**
 * How the clients fail over between members. When the leader dies, a follower keeps forwarding
 * writes to it until the election timeout (~1 s here): those writes are lost and would wait out
 * any deadline. So every unary call gets a short deadline and a timed-out call is tried again on
 * another member (writes here are level-triggered or guarded by a compare: a retry is safe).
 * Watches resume on another member within a second, never after etcd3's default 30 s backoff.
 */
export const FAILOVER = {
  callTimeoutMs: 1_000,
  /** Enough to outlast an election (1–2 s with etcd's default 1 s election timeout): each try on a leaderless member times out. */
  attempts: 5,
  watchBackoff: { initialDelay: 50, maxDelay: 1_000 },
  /** gRPC pings on idle channels find a member that froze or vanished without a reset; etcd refuses pings under 5 s apart. */
  keepaliveMs: 10_000,
  keepaliveTimeoutMs: 3_000,
};

function clientOptions(options: EtcdOptions): IOptions {
  const callTimeoutMs = options.callTimeoutMs ?? FAILOVER.callTimeoutMs;
  const result: IOptions = {
    hosts: options.endpoints,
    dialTimeout: 3_000,
    grpcOptions: {
      // gRPC refuses replies over 4 MiB by default; lists are paged (listPrefix), but one
      // watch reply can still carry a large burst of events.
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.keepalive_time_ms': FAILOVER.keepaliveMs,
      'grpc.keepalive_timeout_ms': FAILOVER.keepaliveTimeoutMs,
      'grpc.keepalive_permit_without_calls': 1,
    },
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    faultHandling: {
      // The client's default breaker stays open 5 s after three failures; a fabric must notice
      // a member's return faster than that.
      host: () => {
        const breaker = circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 500, breaker: new ConsecutiveBreaker(3) });
        breaker.onFailure(({ reason }) => {
          if ('error' in reason) noteBreakerFailure(reason.error);
        });
        return breaker;
      },
      global: retry(handleWhen(isWorthRetrying), {
        maxAttempts: FAILOVER.attempts - 1,
        backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 500 }),
      }),
      // etcd3 declares an IBackoff here but calls `.next()` on it first, as on its own default (a factory).
      watchBackoff: new ExponentialBackoff(FAILOVER.watchBackoff) as unknown as IBackoff<unknown>,
    },
  };
  if (options.cacert || options.cert || options.key) {
    if (!options.cacert) throw new FabricError('FABRIC_ERR_CONFIG', '--etcd-cacert is required for TLS to etcd');
    if (Boolean(options.cert) !== Boolean(options.key)) {
      throw new FabricError('FABRIC_ERR_CONFIG', '--etcd-cert and --etcd-key go together');
    }
    result.credentials = {
      rootCertificate: readFileSync(options.cacert),
      ...(options.cert && options.key ? { certChain: readFileSync(options.cert), privateKey: readFileSync(options.key) } : {}),
    };
  }
  if (options.user) {
    result.auth = { username: options.user, password: options.password ?? '' };
  }
  return result;
}

/**
 * Every key under `prefix`, read page by page at one revision: a consistent
 * snapshot of any size (a single range reply is capped by gRPC's message limit).
 * Keys come back relative to the namespace.
 */
/**
 * Every key under `prefix` at one revision, in pages. Pages of 5,000: etcd counts the rest of the
 * range for every page, so 100,000 keys took 3.2 s in pages of 1,000 and 1.3 s in pages of 5,000
 * (measured). connectEtcd's 64 MB message limit holds 5,000 values of up to ~13 KB each.
 */
export async function listPrefix(kv: Namespace, prefix: string, pageSize = 5_000): Promise<{ kvs: IKeyValue[]; revision: number }> {
  const { start, end } = Range.prefix(prefix);
  const kvs: IKeyValue[] = [];
  let from: Buffer = Buffer.from(start);
  let revision: string | undefined;
  for (;;) {
    const query = kv.getAll().inRange(new Range(from, end)).limit(pageSize);
    const page = await (revision ? query.revision(revision) : query).exec();
    revision ??= page.header.revision;
    for (const item of page.kvs) kvs.push(item);
    const last = page.kvs.at(-1);
    if (!page.more || !last) return { kvs, revision: Number(revision) };
    from = Buffer.concat([last.key, Buffer.from([0])]);
  }
}

/** Unavailable (etcd3's "recoverable") or timed out: another member may answer. */
function isWorthRetrying(err: Error): boolean {
  return isRecoverableError(err) || err instanceof GRPCDeadlineExceededError;
}
