// The check scheduler's timing logic under vitest's fake clock: where checks land in their
// interval, how many run at once, and what happens to slow or removed jobs.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CheckScheduler, nextDue, phase } from '../health/scheduler.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

function keys(n: number): string[] {
  // Shaped like real endpoint keys: service/host/64-hex container id.
  return Array.from({ length: n }, (_, i) => `web/host-${i % 7}/${(i * 2654435761).toString(16).padStart(64, '0')}`);
}

/** A scheduler whose runs record their start times, each taking `runMs` of fake time. */
function recorder(concurrency: number, runMs: number) {
  const starts = new Map<string, number[]>();
  let inFlight = 0;
  let maxInFlight = 0;
  const errors: unknown[] = [];
  const scheduler = new CheckScheduler({ concurrency, onError: (_key, err) => errors.push(err) });
  const add = (key: string, intervalMs: number) =>
    scheduler.set(key, intervalMs, async (signal) => {
      starts.set(key, [...(starts.get(key) ?? []), Date.now()]);
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, runMs);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
      inFlight -= 1;
    });
  return { scheduler, starts, add, errors, maxInFlight: () => maxInFlight, inFlight: () => inFlight };
}

describe('pure timing', () => {
  it('phase spreads keys evenly over [0, 1)', () => {
    const buckets = new Array<number>(10).fill(0);
    const phases = keys(10_000).map(phase);
    expect(Math.min(...phases)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...phases)).toBeLessThan(1);
    for (const p of phases) buckets[Math.floor(p * 10)]! += 1;
    // 1,000 expected per bucket; a uniform hash stays well within ±15 %.
    expect(Math.min(...buckets)).toBeGreaterThan(850);
    expect(Math.max(...buckets)).toBeLessThan(1_150);
    expect(phase('a')).toBe(phase('a'));
  });

  it.each([
    // lastDue, interval, now → next
    [1_000, 500, 1_100, 1_500], // on time: the next slot
    [1_000, 500, 1_499, 1_500],
    [1_000, 500, 1_500, 2_000], // exactly on the next slot: the one after
    [1_000, 500, 2_750, 3_000], // late by several slots: skips them, keeps the phase
  ])('nextDue(%i, %i, now %i) = %i', (lastDue, interval, now, expected) => {
    expect(nextDue(lastDue, interval, now)).toBe(expected);
  });
});

describe('CheckScheduler', () => {
  it('spreads the first checks of 500 endpoints over the interval instead of firing them at once', async () => {
    const r = recorder(100, 5);
    for (const key of keys(500)) r.add(key, 1_000);
    await vi.advanceTimersByTimeAsync(999);
    const firsts = [...r.starts.values()].map((s) => s[0]!);
    expect(firsts).toHaveLength(500);
    const perTenth = new Array<number>(10).fill(0);
    for (const t of firsts) perTenth[Math.floor(t / 100)]! += 1;
    // 50 expected in each tenth of the interval.
    expect(Math.min(...perTenth)).toBeGreaterThan(25);
    expect(Math.max(...perTenth)).toBeLessThan(75);
    // No 10 ms window holds more than a few percent of them.
    const per10ms = new Map<number, number>();
    for (const t of firsts) per10ms.set(Math.floor(t / 10), (per10ms.get(Math.floor(t / 10)) ?? 0) + 1);
    expect(Math.max(...per10ms.values())).toBeLessThan(20);
    await r.scheduler.stop();
  });

  it('runs each endpoint once per interval, on its own phase', async () => {
    const r = recorder(10, 5);
    for (const key of keys(50)) r.add(key, 200);
    await vi.advanceTimersByTimeAsync(1_000);
    for (const [key, starts] of r.starts) {
      expect(starts.length, key).toBe(5);
      const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
      expect(new Set(gaps), key).toEqual(new Set([200]));
      expect(starts[0]).toBe(Math.floor(phase(key) * 200));
    }
    await r.scheduler.stop();
  });

  it('never has more than `concurrency` checks in flight, and still runs every one', async () => {
    const r = recorder(8, 300);
    for (const key of keys(200)) r.add(key, 1_000);
    await vi.advanceTimersByTimeAsync(100);
    expect(r.inFlight()).toBe(8);
    expect(r.scheduler.queued).toBeGreaterThan(0);
    // 200 checks of 300 ms, 8 at a time: 7.5 s of work; all of them ran within 8 s.
    await vi.advanceTimersByTimeAsync(8_000);
    expect(r.maxInFlight()).toBe(8);
    expect(r.starts.size).toBe(200);
    await r.scheduler.stop();
    expect(r.inFlight()).toBe(0);
  });

  it('never overlaps a job with itself when a check outlasts its interval', async () => {
    const r = recorder(4, 250);
    r.add('slow', 100);
    await vi.advanceTimersByTimeAsync(2_000);
    const starts = r.starts.get('slow')!;
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    // Each run takes 250 ms; the next starts at the first 100 ms slot after it ended.
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(250);
    expect(r.maxInFlight()).toBe(1);
    await r.scheduler.stop();
  });

  it('delete aborts a check in flight and stops further runs; stop is idempotent', async () => {
    const r = recorder(4, 10_000);
    r.add('a', 100);
    r.add('b', 100);
    await vi.advanceTimersByTimeAsync(150);
    expect(r.inFlight()).toBe(2);
    r.scheduler.delete('a');
    await vi.advanceTimersByTimeAsync(1);
    expect(r.inFlight()).toBe(1);
    expect(r.scheduler.has('a')).toBe(false);
    await r.scheduler.stop();
    await r.scheduler.stop();
    expect(r.inFlight()).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(r.starts.get('a')).toHaveLength(1);
    expect(() => r.add('c', 100)).toThrow(/after stop/);
  });

  it('a new interval takes effect for a waiting job', async () => {
    const r = recorder(4, 1);
    r.add('k', 10_000);
    r.add('k', 100);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(r.starts.get('k')!.length).toBeGreaterThanOrEqual(9);
    await r.scheduler.stop();
  });

  it('reports a run that throws and keeps scheduling it', async () => {
    const errors: unknown[] = [];
    const scheduler = new CheckScheduler({ concurrency: 1, onError: (_k, err) => errors.push(err) });
    let runs = 0;
    scheduler.set('boom', 100, async () => {
      runs += 1;
      throw new Error('boom');
    });
    await vi.advanceTimersByTimeAsync(500);
    expect(runs).toBeGreaterThanOrEqual(4);
    expect(errors).toHaveLength(runs);
    await scheduler.stop();
  });
});
