/**
 * At most one reload per `intervalMs`. A reload asked for sooner is deferred to
 * the end of the interval instead of starting another worker generation while
 * the last one may still be shutting down; every change made meanwhile is folded
 * into that one reload, so a burst costs one reload per interval.
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

  /** A reload (or a start) just happened. */
  mark(): void {
    this.last = this.now();
  }
}
