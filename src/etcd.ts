import { readFileSync } from 'node:fs';
import { ConsecutiveBreaker, circuitBreaker, ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { Etcd3, type IKeyValue, type IOptions, isRecoverableError, type Namespace, Range } from 'etcd3';
import { FabricError } from './errors.js';
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

function clientOptions(options: EtcdOptions): IOptions {
  const callTimeoutMs = options.callTimeoutMs ?? 5_000;
  const result: IOptions = {
    hosts: options.endpoints,
    dialTimeout: 3_000,
    // gRPC refuses replies over 4 MiB by default; lists are paged (listPrefix), but one
    // watch reply can still carry a large burst of events.
    grpcOptions: { 'grpc.max_receive_message_length': 64 * 1024 * 1024 },
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    // The client's default breaker stays open 5 s after three failures; a
    // fabric must notice etcd's return faster than that.
    faultHandling: {
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 500, breaker: new ConsecutiveBreaker(3) }),
      global: retry(handleWhen(isRecoverableError), {
        maxAttempts: 2,
        backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 500 }),
      }),
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
export async function listPrefix(kv: Namespace, prefix: string, pageSize = 1_000): Promise<{ kvs: IKeyValue[]; revision: number }> {
  const { start, end } = Range.prefix(prefix);
  const kvs: IKeyValue[] = [];
  let from: Buffer = Buffer.from(start);
  let revision: string | undefined;
  for (;;) {
    const query = kv.getAll().inRange(new Range(from, end)).limit(pageSize);
    const page = await (revision ? query.revision(revision) : query).exec();
    revision ??= page.header.revision;
    kvs.push(...page.kvs);
    const last = page.kvs.at(-1);
    if (!page.more || !last) return { kvs, revision: Number(revision) };
    from = Buffer.concat([last.key, Buffer.from([0])]);
  }
}
