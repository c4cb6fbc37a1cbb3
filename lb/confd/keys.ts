import type { Etcd3, Watcher } from 'etcd3';
import { Backoff, delay } from '../../src/backoff.js';
import { describeError, FabricError } from '../../src/errors.js';
import { listPrefix } from '../../src/etcd.js';
import { grpcReason } from '../../src/etcd-errors.js';
import type { Logger } from '../../src/log.js';
import { MemoryKeyValues } from '../template/kv.js';

export type KeyWatchState = 'idle' | 'listing' | 'watching' | 'disconnected' | 'closed';

/**
 * Prefixes to follow, without the ones another prefix already covers: the
 * followers then own disjoint sets of keys.
 */
export function coveringPrefixes(prefixes: string[]): string[] {
  const sorted = [...new Set(prefixes)].sort();
  return sorted.filter((p, i) => !sorted.slice(0, i).some((q) => p.startsWith(q)));
}

/** confd's `-onetime`: every key under `prefixes` as it is now (paged, any size). */
export async function readKeys(client: Etcd3, prefixes: string[]): Promise<MemoryKeyValues> {
  const entries: Array<[string, string]> = [];
  for (const prefix of coveringPrefixes(prefixes)) {
    const { kvs } = await listPrefix(client, prefix).catch((err) => {
      throw unavailable(prefix, err);
    });
    for (const kv of kvs) entries.push([kv.key.toString(), kv.value.toString()]);
  }
  return new MemoryKeyValues(entries);
}

/**
 * Arbitrary etcd prefixes (any keys, not only the fabric keyspace), followed
 * the way the router follows its own: per prefix, a paged snapshot at
 * revision R, a watch from R+1, and a new snapshot when etcd cancels the
 * watch (compacted past R). `onChange` runs after every snapshot and every
 * batch of events that changed a value.
 */
export class KeyWatch {
  private currentState: KeyWatchState = 'idle';
  private readonly values = new Map<string, string>();
  private readonly followers: PrefixFollower[];
  private readonly firstSnapshot: Promise<void>;
  private snapshotDone!: () => void;
  private lastError: string | undefined;

  constructor(
    /** Called once per prefix: each follower watches on a client of its own. */
    newClient: () => Etcd3,
    prefixes: string[],
    logger: Logger,
    private readonly onChange: () => void,
  ) {
    this.firstSnapshot = new Promise((resolve) => (this.snapshotDone = resolve));
    this.followers = coveringPrefixes(prefixes).map((prefix) => new PrefixFollower(newClient(), prefix, this.values, logger, this.events()));
  }

  get state(): KeyWatchState {
    return this.currentState;
  }

  get error(): string | undefined {
    return this.lastError;
  }

  start(): void {
    if (this.currentState !== 'idle') return;
    this.currentState = 'listing';
    if (this.followers.length === 0) this.snapshotDone();
    for (const follower of this.followers) follower.start();
  }

  /** Resolves once every prefix has been listed; a FabricError (retryable) after `timeoutMs`. */
  async ready(timeoutMs: number): Promise<void> {
    this.start();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(unavailable(this.followers.map((f) => f.prefix).join(', '), this.lastError ?? 'no answer yet')), timeoutMs);
    });
    try {
      await Promise.race([this.firstSnapshot, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The keys as they are now, for one render. */
  snapshot(): MemoryKeyValues {
    return new MemoryKeyValues(this.values);
  }

  async close(): Promise<void> {
    this.currentState = 'closed';
    await Promise.all(this.followers.map((f) => f.close()));
  }

  private events(): FollowerEvents {
    return {
      snapshot: () => {
        if (this.followers.every((f) => f.listed)) {
          this.snapshotDone();
          this.updateState();
        }
        this.onChange();
      },
      changed: () => this.onChange(),
      state: (err) => {
        if (err) this.lastError = err;
        this.updateState();
      },
    };
  }

  private updateState(): void {
    if (this.currentState === 'closed') return;
    const states = this.followers.map((f) => f.state);
    this.currentState = states.includes('disconnected') ? 'disconnected' : states.every((s) => s === 'watching') ? 'watching' : 'listing';
    if (this.currentState === 'watching') this.lastError = undefined;
  }
}

interface FollowerEvents {
  snapshot(): void;
  changed(): void;
  state(err?: string): void;
}

/** One prefix: snapshot, watch from R+1, list again when the watch is cancelled. */
class PrefixFollower {
  state: KeyWatchState = 'idle';
  listed = false;
  private watcher: Watcher | undefined;
  private readonly abort = new AbortController();
  private readonly backoff = new Backoff(100, 3_000);

  constructor(
    private readonly client: Etcd3,
    readonly prefix: string,
    private readonly values: Map<string, string>,
    private readonly logger: Logger,
    private readonly events: FollowerEvents,
  ) {}

  start(): void {
    void this.listAndWatch();
  }

  /** Closing its own client ends the watch too, whatever state etcd3's watch stream is in. */
  async close(): Promise<void> {
    this.abort.abort();
    this.state = 'closed';
    this.watcher = undefined;
    this.client.close();
  }

  private setState(state: KeyWatchState, err?: string): void {
    if (this.state === 'closed') return;
    this.state = state;
    this.events.state(err);
  }

  private async listAndWatch(): Promise<void> {
    while (!this.abort.signal.aborted) {
      this.setState('listing');
      try {
        const { kvs, revision } = await listPrefix(this.client, this.prefix);
        if (this.abort.signal.aborted) return;
        this.replace(kvs.map((kv) => [kv.key.toString(), kv.value.toString()]));
        this.listed = true;
        this.events.snapshot();
        this.watcher = await this.client
          .watch()
          .prefix(this.prefix)
          .startRevision(String(revision + 1))
          .create();
        if (this.abort.signal.aborted) {
          await this.watcher.cancel().catch(() => undefined);
          return;
        }
        this.attach(this.watcher);
        this.backoff.reset();
        this.setState('watching');
        return;
      } catch (err) {
        const wait = this.backoff.next();
        this.setState('disconnected', grpcReason(describeError(err)));
        this.logger.warn({ prefix: this.prefix, err: grpcReason(describeError(err)), retryInMs: wait }, 'etcd list failed');
        await delay(wait, this.abort.signal);
      }
    }
  }

  /** A fresh snapshot of this prefix replaces what it held before. */
  private replace(entries: Array<[string, string]>): void {
    for (const key of [...this.values.keys()]) if (key.startsWith(this.prefix)) this.values.delete(key);
    for (const [key, value] of entries) this.values.set(key, value);
  }

  private attach(watcher: Watcher): void {
    watcher.on('data', (response) => {
      let changed = false;
      for (const event of response.events) {
        const key = event.kv.key.toString();
        if (event.type === 'Delete') changed = this.values.delete(key) || changed;
        else {
          const value = event.kv.value.toString();
          if (this.values.get(key) !== value) changed = true;
          this.values.set(key, value);
        }
      }
      if (changed) this.events.changed();
    });
    watcher.on('disconnected', (err) => this.setState('disconnected', grpcReason(describeError(err))));
    watcher.on('connected', () => this.setState('watching'));
    watcher.on('error', (err) => {
      // Compacted past our revision (or otherwise cancelled): list again.
      this.logger.warn({ prefix: this.prefix, err: grpcReason(describeError(err)) }, 'etcd watch cancelled; listing again');
      // etcd3 has already dropped a watcher it reports cancelled: cancelling it again would send etcd a
      // cancel for an id the client no longer knows, and its answer throws inside etcd3.
      if (this.watcher === watcher) this.watcher = undefined;
      if (!this.abort.signal.aborted) void this.listAndWatch();
    });
  }
}

function unavailable(prefix: string, err: unknown): FabricError {
  return new FabricError('FABRIC_ERR_ETCD_UNAVAILABLE', `cannot read the keys under ${prefix}: ${grpcReason(describeError(err))}`, { cause: err });
}
