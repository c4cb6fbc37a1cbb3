/**
 * Wall-clock milliseconds with sub-millisecond precision, comparable across processes on one
 * machine (benchmarks line a router's timestamps up with their own).
 */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Times the named steps of one pass: each `lap` records the time since the previous one. The
 * router logs the result with each apply, so a benchmark can say where each millisecond went.
 */
export class StepClock {
  private last: number;
  private readonly laps: Record<string, number> = {};

  constructor(readonly startedAt = preciseNow()) {
    this.last = startedAt;
  }

  lap(step: string): void {
    const now = preciseNow();
    this.laps[step] = Math.round((now - this.last) * 1000) / 1000;
    this.last = now;
  }

  /** Step → ms, in the order they ran. */
  get steps(): Record<string, number> {
    return { ...this.laps };
  }
}
