import type { ApplyAction } from './target.js';

/** One target's apply, as the dashboard and `/v1/events` show it. */
export interface ApplyRecord {
  /** The router's apply id: every target applied in one pass shares it (and the log lines carry it). */
  applyId: number;
  at: string;
  target: string;
  revision: number;
  result: 'ok' | 'failed';
  action?: ApplyAction;
  detail?: string;
  durationMs: number;
  code?: string;
  message?: string;
}

/** The last `limit` applies and failures, newest first, plus listeners told of every change. */
export class ApplyHistory {
  private readonly records: ApplyRecord[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly recordListeners = new Set<(record: ApplyRecord) => void>();

  constructor(private readonly limit = 50) {}

  add(record: ApplyRecord): void {
    this.records.unshift(record);
    if (this.records.length > this.limit) this.records.length = this.limit;
    for (const listener of this.recordListeners) listener(record);
  }

  /** Told of each record as it is added (the events timeline); returns the unsubscribe. */
  onRecord(listener: (record: ApplyRecord) => void): () => void {
    this.recordListeners.add(listener);
    return () => this.recordListeners.delete(listener);
  }

  list(): ApplyRecord[] {
    return [...this.records];
  }

  /** Called after every apply pass (the model may have changed); returns the unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(): void {
    for (const listener of this.listeners) listener();
  }
}
