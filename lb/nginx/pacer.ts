import { delay } from '../../src/backoff.js';

/**
 * At most one reload per `intervalMs`. A reload asked for sooner waits out the
 * rest of the interval instead of starting another worker generation while the
 * last one may still be shutting down; the router's debounce folds every change
 * made meanwhile into the next apply, so a burst costs one reload per interval.
 */
export class ReloadPacer {
  private last = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until the next reload may run (0: now). */
  remaining(): number {
    return Math.max(0, this.last + this.intervalMs - this.now());
  }

  /** Waits until a reload may run (or `signal` aborts); returns how long it waited. */
  async wait(signal?: AbortSignal): Promise<number> {
    const ms = this.remaining();
    if (ms > 0) await delay(ms, signal);
    return ms;
  }

  /** A reload (or a start) just happened. */
  mark(): void {
    this.last = this.now();
  }
}
