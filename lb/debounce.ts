/**
 * Latest-wins trigger with a bound on latency. The first change after a quiet
 * spell runs at once (next tick, so one etcd transaction's events land
 * together); changes that arrive while a run is in flight, or right after it,
 * wait for `minMs` of quiet, but never longer than `maxMs`. Runs never overlap.
 */
export class Debouncer {
  private timer: NodeJS.Timeout | undefined;
  private pendingSince: number | undefined;
  private running = false;
  private lastRunEnded = 0;
  private closed = false;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly run: () => Promise<void>,
  ) {}

  trigger(): void {
    if (this.closed) return;
    const now = Date.now();
    this.pendingSince ??= now;
    if (this.running) return; // picked up when the run ends
    const idle = this.timer === undefined && now - this.lastRunEnded >= this.minMs;
    const wait = idle ? 0 : Math.max(0, Math.min(this.minMs, this.pendingSince + this.maxMs - now));
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.fire(), wait);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async fire(): Promise<void> {
    this.timer = undefined;
    if (this.closed || this.pendingSince === undefined) return;
    this.pendingSince = undefined;
    this.running = true;
    try {
      await this.run();
    } finally {
      this.running = false;
      this.lastRunEnded = Date.now();
      if (this.pendingSince !== undefined) this.trigger();
    }
  }
}
