import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Timeline } from '../ring.js';
import { TimelineStream } from '../stream.js';

describe('timeline SSE stream', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('coalesces a burst into one message, newest first, and sends at most four a second', () => {
    const timeline = new Timeline(100);
    const sent: Array<{ at: number; ids: number[] }> = [];
    const stream = new TimelineStream(timeline, (name, data) => {
      expect(name).toBe('timeline');
      sent.push({ at: Date.now(), ids: (data as { events: Array<{ id: number }> }).events.map((e) => e.id) });
    });
    stream.start();
    const start = Date.now();
    for (let i = 0; i < 50; i++) timeline.record({ kind: 'endpoint.removed', message: 'gone' });
    vi.advanceTimersByTime(0);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.ids[0]).toBe(50);
    expect(sent[0]!.ids).toHaveLength(50);
    // A steady trickle, one event every 10 ms for a second: ≤ 4 messages, nothing lost.
    for (let i = 0; i < 100; i++) {
      timeline.record({ kind: 'reload', message: 'r' });
      vi.advanceTimersByTime(10);
    }
    vi.advanceTimersByTime(300);
    const after = sent.filter((m) => m.at > start);
    expect(after.length).toBeLessThanOrEqual(5);
    expect(sent.flatMap((m) => m.ids).sort((x, y) => x - y)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    for (let i = 1; i < sent.length; i++) expect(sent[i]!.at - sent[i - 1]!.at).toBeGreaterThanOrEqual(250);
    stream.close();
    timeline.record({ kind: 'reload', message: 'after close' });
    vi.advanceTimersByTime(1_000);
    expect(sent.flatMap((m) => m.ids)).not.toContain(151);
  });
});
