import type { Timeline } from './ring.js';
import type { TimelineEvent } from './types.js';

/** At most this many `timeline` messages a second: a burst (a host going with 500 endpoints) is one or two. */
const MIN_GAP_MS = 250;

/**
 * SSE `event: timeline`: new events as they happen, coalesced (≤ 4 messages a
 * second), each message `{ events: [...] }` newest first like `/v1/timeline`.
 */
export class TimelineStream {
  private buffered: TimelineEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastSent = 0;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly timeline: Timeline,
    private readonly publish: (event: string, data: unknown) => void,
  ) {}

  start(): void {
    this.unsubscribe ??= this.timeline.subscribe((event) => this.add(event));
  }

  close(): void {
    this.unsubscribe?.();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.buffered = [];
  }

  private add(event: TimelineEvent): void {
    this.buffered.push(event);
    if (this.timer) return;
    const wait = Math.max(0, this.lastSent + MIN_GAP_MS - Date.now());
    this.timer = setTimeout(() => this.flush(), wait);
    this.timer.unref();
  }

  private flush(): void {
    this.timer = undefined;
    const events = this.buffered.reverse();
    this.buffered = [];
    this.lastSent = Date.now();
    if (events.length) this.publish('timeline', { events });
  }
}
