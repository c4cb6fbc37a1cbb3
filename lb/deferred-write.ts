export interface DeferredWriteOptions {
  /** Write once this long has passed without a newer schedule… */
  quietMs: number;
  /** …but never later than this after the oldest unwritten one. */
  maxMs: number;
  /** A write that ran from the timer failed (a flush throws instead). */
  onError: (err: unknown) => void;
}

type Job = () => Promise<void>;

/**
 * Latest-wins, coalesced file writes off the apply path. After a Runtime API
 * update HAProxy already serves the change; its files only have to be right
 * before something reads them (a reload, `haproxy -c`, a restart). So the
 * target schedules the write here and returns; a burst of changes becomes one
 * write after the burst. Jobs never overlap, and `flush()` runs the pending
 * one at once: callers flush before any reload, validation or stop.
 */
export class DeferredWrite {
  private pending: Job | undefined;
  private pendingSince = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: DeferredWriteOptions) {}

  /** Whether a write is waiting (the files on disk are behind what was applied). */
  get behind(): boolean {
    return this.pending !== undefined;
  }

  /** Replaces any pending write with this one. */
  schedule(job: Job): void {
    if (this.closed) throw new Error('DeferredWrite.schedule() after close()');
    const now = Date.now();
    if (!this.pending) this.pendingSince = now;
    this.pending = job;
    clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.options.quietMs, this.pendingSince + this.options.maxMs - now));
    this.timer = setTimeout(() => void this.run().catch(this.options.onError), wait);
  }

  /** Waits for a write in flight, then runs the pending one now. Throws if that write fails. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    await this.run();
  }

  /** Flushes, then accepts no more writes. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.closed = true;
    }
  }

  /** Serialized: a job starts only after the previous one ended. */
  private run(): Promise<void> {
    const next = this.running
      .catch(() => undefined)
      .then(() => {
        const job = this.pending;
        this.pending = undefined;
        return job?.();
      });
    this.running = next;
    return next;
  }
}
