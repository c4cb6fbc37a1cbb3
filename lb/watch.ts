import { EventEmitter } from 'node:events';
import type { Namespace, Watcher } from 'etcd3';
import { Backoff, delay } from '../src/backoff.js';
import { describeError } from '../src/errors.js';
import { listPrefix } from '../src/etcd.js';
import { grpcReason } from '../src/etcd-errors.js';
import type { Logger } from '../src/log.js';
import type { KeyChange } from './store.js';

export type WatchState = 'idle' | 'listing' | 'watching' | 'disconnected' | 'closed';

/**
 * The whole fabric keyspace, followed: one snapshot at revision R, then one
 * prefix watch from R+1. The client resumes the watch across reconnects by
 * itself; when etcd cancels it (compacted past our revision) we list again.
 */
export class KeyspaceWatch extends EventEmitter {
  private currentState: WatchState = 'idle';
  private watcher: Watcher | undefined;
  private readonly abort = new AbortController();
  private readonly backoff = new Backoff(100, 3_000);
  private lastError: string | undefined;

  constructor(
    private readonly kv: Namespace,
    private readonly logger: Logger,
  ) {
    super();
  }

  override on(event: 'snapshot', listener: (changes: KeyChange[], revision: number) => void): this;
  override on(event: 'changes', listener: (changes: KeyChange[], revision: number) => void): this;
  override on(event: 'state', listener: (state: WatchState) => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: the implementation signature behind the typed overloads above
  override on(event: string, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  get state(): WatchState {
    return this.currentState;
  }

  get error(): string | undefined {
    return this.lastError;
  }

  start(): void {
    if (this.currentState !== 'idle') throw new Error(`KeyspaceWatch.start() in state ${this.currentState}`);
    void this.listAndWatch();
  }

  async close(): Promise<void> {
    this.abort.abort();
    this.setState('closed');
    // A watcher waiting to be re-created after a reconnect cancels only once etcd answers: don't wait
    // on that at shutdown (closing the client ends the watch anyway).
    const giveUp = new AbortController();
    const cancelled = this.watcher?.cancel().catch(() => undefined);
    await Promise.race([cancelled, delay(1_000, giveUp.signal)]);
    giveUp.abort();
  }

  private setState(state: WatchState): void {
    if (this.currentState === state || this.currentState === 'closed') return;
    this.currentState = state;
    this.emit('state', state);
  }

  private async listAndWatch(): Promise<void> {
    while (!this.abort.signal.aborted) {
      this.setState('listing');
      try {
        const { kvs, revision } = await listPrefix(this.kv, '');
        const changes: KeyChange[] = kvs.map((kv) => ({
          type: 'put',
          key: kv.key.toString(),
          value: kv.value.toString(),
          createRevision: Number(kv.create_revision),
        }));
        if (this.abort.signal.aborted) return;
        this.emit('snapshot', changes, revision);
        this.watcher = await this.kv
          .watch()
          .prefix('')
          .startRevision(String(revision + 1))
          .create();
        this.attach(this.watcher);
        this.lastError = undefined;
        this.backoff.reset();
        this.setState('watching');
        return;
      } catch (err) {
        this.lastError = grpcReason(describeError(err));
        this.setState('disconnected');
        const wait = this.backoff.next();
        this.logger.warn({ err: this.lastError, retryInMs: wait }, 'etcd list failed');
        await delay(wait, this.abort.signal);
      }
    }
  }

  private attach(watcher: Watcher): void {
    watcher.on('data', (response) => {
      const changes: KeyChange[] = response.events.map((event) => ({
        type: event.type === 'Delete' ? 'delete' : 'put',
        key: event.kv.key.toString(),
        value: event.kv.value.toString(),
        createRevision: Number(event.kv.create_revision),
      }));
      if (changes.length) this.emit('changes', changes, Number(response.header.revision));
    });
    watcher.on('disconnected', (err) => {
      this.lastError = grpcReason(describeError(err));
      this.setState('disconnected');
    });
    watcher.on('connected', () => {
      this.lastError = undefined;
      this.setState('watching');
    });
    watcher.on('error', (err) => {
      // Compacted past our revision (or otherwise cancelled): list again.
      this.lastError = grpcReason(describeError(err));
      this.logger.warn({ err: this.lastError }, 'etcd watch cancelled; listing again');
      // etcd3 has already dropped a watcher it reports cancelled: cancelling it again would send etcd a
      // cancel for an id the client no longer knows, and its answer throws inside etcd3.
      if (this.watcher === watcher) this.watcher = undefined;
      if (!this.abort.signal.aborted) void this.listAndWatch();
    });
  }
}
