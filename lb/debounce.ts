/**
 * Latest-wins trigger with a bound on latency. The first change after a quiet
 * spell runs at once (on setImmediate, after the I/O callbacks already due, so
 * one etcd transaction's events land together; a 0 ms timer would cost Node's
 * 1 ms minimum on every small change); changes that arrive while a run is in flight, or right after it,
 * wait for `minMs` of quiet, but never longer than `maxMs`. Runs never overlap.
 */
export class Debouncer {
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
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
    if (this.immediate) return; // the leading-edge run is already due
    const idle = this.timer === undefined && now - this.lastRunEnded >= this.minMs;
    if (idle) {
      this.immediate = setImmediate(() => void this.fire());
      return;
    }
    const wait = Math.max(0, Math.min(this.minMs, this.pendingSince + this.maxMs - now));
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.fire(), wait);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
  }

  private async fire(): Promise<void> {
    this.timer = undefined;
    this.immediate = undefined;
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
