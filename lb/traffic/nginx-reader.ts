import { statSync } from 'node:fs';
import { open, stat, truncate } from 'node:fs/promises';
import type { Model } from '../model.js';
import { nginxOwners, nginxSample, parseNginxLine } from './nginx-log.js';
import type { SlotOwner } from './owners.js';
import type { TrafficStore } from './store.js';

/** An nginx whose traffic log the router tails. */
export interface SampledNginx {
  readonly name: string;
  readonly trafficLog: string;
  readonly appliedModel: Model | undefined;
}

/** At most this much of the log is read per tick; past it the rest waits for the next one. */
const MAX_READ = 8 << 20;
/** The router owns the file: once read past this, it is emptied (nginx appends with O_APPEND, so it writes on at 0). */
const TRUNCATE_AT = 64 << 20;

/**
 * Tails nginx's traffic log (one line per proxied request) each tick: the lines since the last
 * read become one sample. Lines written before the router started are not counted; a file that
 * shrank (rotated, emptied) is read from its start.
 */
export class NginxTrafficReader {
  /** Lines before this (written before the router started) are not counted. */
  private offset: number;
  private carry = '';
  private lastAt: number;
  private owners: Map<string, Map<string, SlotOwner>> | undefined;
  private ownersOf: Model | undefined;

  constructor(
    readonly nginx: SampledNginx,
    private readonly store: TrafficStore,
    startedAt = Date.now(),
  ) {
    this.lastAt = startedAt;
    this.offset = sizeNow(nginx.trafficLog);
    store.addSource(nginx.name);
  }

  get name(): string {
    return this.nginx.name;
  }

  async read(): Promise<void> {
    const model = this.nginx.appliedModel;
    const size = await stat(this.nginx.trafficLog).then(
      (s) => s.size,
      () => 0,
    );
    if (size < this.offset) {
      this.offset = 0;
      this.carry = '';
    }
    const at = Date.now();
    const from = this.lastAt;
    this.lastAt = at;
    if (!model || size === this.offset) return;
    const text = await this.readFrom(this.offset, Math.min(size - this.offset, MAX_READ));
    this.offset += Buffer.byteLength(text);
    const lines = (this.carry + text).split('\n');
    this.carry = lines.pop() ?? '';
    if (this.ownersOf !== model) {
      this.owners = nginxOwners(model);
      this.ownersOf = model;
    }
    const requests = lines.map(parseNginxLine).filter((r) => r !== undefined);
    this.store.ingest(this.nginx.name, nginxSample(requests, this.owners!, from, at));
    if (this.offset >= TRUNCATE_AT && this.carry === '') {
      await truncate(this.nginx.trafficLog, 0);
      this.offset = 0;
    }
  }

  private async readFrom(position: number, length: number): Promise<string> {
    const file = await open(this.nginx.trafficLog, 'r');
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await file.read(buffer, 0, length, position);
      return buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await file.close();
    }
  }
}

/** Once, at start-up: a missing file is empty. */
function sizeNow(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
