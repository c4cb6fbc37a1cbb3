import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FabricError } from '../../../src/errors.js';
import { haproxyCommand } from '../socket.js';
import { diffReply, StatDiffer } from './differ.js';
import { type StatChanges, StatMirror } from './mirror.js';
import type { StatReadPart, StatReadReply, StatReadRequest } from './protocol.js';

const WORKER_FILE = fileURLToPath(new URL('./worker.js', import.meta.url));
/** Run from the TypeScript sources (tests) there is no compiled worker: checked once, not per read. */
const HAS_WORKER = existsSync(WORKER_FILE);

export interface StatFeedOptions {
  socket: string;
  command: string;
  columns: readonly string[];
  /** Columns carried but never making a row changed (clocks, durations). */
  volatile?: readonly string[];
  /** An admin socket adapter (unit tests): the answers are then diffed in this thread. */
  commandAdapter?: (socket: string, command: string) => Promise<string>;
}

let feeds = 0;

/**
 * A `show stat` read as what changed since the last one, and the whole table kept in `mirror`.
 * The socket is read and the answer diffed in a worker thread (lb/haproxy/stat-feed/worker.ts);
 * run from the TypeScript sources (tests), or with a command adapter, in this thread. A thread
 * that dies takes its state with it: the next read starts a new one, whose first delta is full.
 */
export class StatFeed {
  readonly mirror = new StatMirror();
  private readonly id = ++feeds;
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { parts: string[][]; resolve: (reply: StatReadReply) => void; reject: (err: Error) => void }>();
  private local: StatDiffer | undefined;

  constructor(private readonly options: StatFeedOptions) {}

  /** Throws FABRIC_ERR_RUNTIME_API when HAProxy cannot be read or does not answer a `show stat`; the mirror is then unchanged. */
  async read(): Promise<StatChanges> {
    const reply = this.options.commandAdapter || !HAS_WORKER ? await this.readHere() : await this.readInThread();
    if ('error' in reply) throw new FabricError(reply.error.code, reply.error.message);
    if ('none' in reply) throw new FabricError('FABRIC_ERR_RUNTIME_API', `${this.options.command}: ${reply.none || 'no answer'}`);
    return this.mirror.apply(reply.delta);
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private async readHere(): Promise<StatReadReply> {
    const { socket, command, columns, volatile = [] } = this.options;
    this.local ??= new StatDiffer(columns, volatile);
    const adapter = this.options.commandAdapter ?? haproxyCommand;
    return diffReply(this.local, 0, await adapter(socket, command));
  }

  private readInThread(): Promise<StatReadReply> {
    const { socket, command, columns, volatile = [] } = this.options;
    const request: StatReadRequest = { id: ++this.nextId, feed: this.id, socket, command, columns, volatile };
    const worker = this.start();
    const reply = new Promise<StatReadReply>((resolve, reject) => this.pending.set(request.id, { parts: [], resolve, reject }));
    worker.ref();
    worker.postMessage(request);
    return reply;
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_FILE);
    worker.on('message', (reply: StatReadReply | StatReadPart) => {
      const waiter = this.pending.get(reply.id);
      if ('part' in reply) {
        waiter?.parts.push(reply.part);
        return;
      }
      this.pending.delete(reply.id);
      if (waiter && 'delta' in reply && waiter.parts.length > 0) reply.delta.changed = [...waiter.parts.flat(), ...reply.delta.changed];
      if (this.pending.size === 0) worker.unref();
      waiter?.resolve(reply);
    });
    worker.on('error', (err) => this.fail(worker, err));
    worker.on('exit', (code) => this.fail(worker, new Error(`stat thread exited (${code})`)));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private fail(worker: Worker, err: Error): void {
    if (this.worker === worker) this.worker = undefined;
    for (const waiter of this.pending.values()) waiter.reject(new FabricError('FABRIC_ERR_RUNTIME_API', `stat thread: ${err.message}`, { cause: err }));
    this.pending.clear();
  }
}
