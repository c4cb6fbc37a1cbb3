// Real timers: the bounds are generous (a busy 2-core box can delay a timer by tens of ms), and
// every assertion is about order and counts, or about a bound far from the expected value.
import { describe, expect, it } from 'vitest';
import { Debouncer } from '../debounce.js';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** A Debouncer whose runs record when they started and can be made slow. */
function recorder(minMs: number, maxMs: number, runMs = 0) {
  const starts: number[] = [];
  let running = 0;
  let maxConcurrent = 0;
  const debouncer = new Debouncer(minMs, maxMs, async () => {
    starts.push(Date.now());
    running += 1;
    maxConcurrent = Math.max(maxConcurrent, running);
    if (runMs) await sleep(runMs);
    running -= 1;
  });
  return { debouncer, starts, concurrent: () => maxConcurrent, idle: () => running === 0 };
}

/** Triggers every `everyMs` for `forMs`; returns the trigger times. */
async function triggerFor(debouncer: Debouncer, everyMs: number, forMs: number): Promise<number[]> {
  const times: number[] = [];
  const start = Date.now();
  for (let i = 0; Date.now() - start < forMs; i++) {
    times.push(Date.now());
    debouncer.trigger();
    await sleep(start + (i + 1) * everyMs - Date.now());
  }
  return times;
}

async function until(test: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

describe('Debouncer', () => {
  it('runs the first change after a quiet spell at once (leading edge)', async () => {
    const { debouncer, starts } = recorder(300, 2_000);
    const t0 = Date.now();
    debouncer.trigger();
    await until(() => starts.length === 1);
    // Far below the 300 ms quiet time it would otherwise wait.
    expect(starts[0]! - t0).toBeLessThan(150);
    debouncer.close();
  });

  it('coalesces a burst into the leading run plus one trailing run', async () => {
    const { debouncer, starts } = recorder(150, 5_000);
    const triggers = await triggerFor(debouncer, 5, 200); // ~40 changes, 5 ms apart
    await until(() => starts.length >= 2);
    await sleep(400); // would a third run come? (quiet time is 150 ms)
    expect(starts).toHaveLength(2);
    // The trailing run waited for the burst to go quiet.
    expect(starts[1]!).toBeGreaterThanOrEqual(triggers[triggers.length - 1]! + 100);
    debouncer.close();
  });

  it('never waits longer than the maximum while changes keep coming', async () => {
    const { debouncer, starts } = recorder(100, 300);
    const triggers = await triggerFor(debouncer, 20, 1_500);
    await until(() => starts[starts.length - 1]! >= triggers[triggers.length - 1]!);
    // Without the maximum, triggers every 20 ms (< 100 ms quiet) would hold everything back.
    expect(starts.length).toBeGreaterThanOrEqual(4);
    // Every trigger is served by a run starting within max + slack after it.
    for (const t of triggers) {
      const served = starts.find((s) => s >= t);
      expect(served, `trigger at +${t - triggers[0]!} ms`).toBeDefined();
      expect(served! - t).toBeLessThan(300 + 250);
    }
    debouncer.close();
  });

  it('never overlaps runs, and a change during a run gets a run after it', async () => {
    const { debouncer, starts, concurrent, idle } = recorder(20, 500, 150);
    debouncer.trigger();
    await until(() => starts.length === 1);
    debouncer.trigger(); // during the first run
    debouncer.trigger();
    await until(() => starts.length === 2 && idle());
    expect(concurrent()).toBe(1);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(140); // after the first run ended
    await sleep(300);
    expect(starts).toHaveLength(2); // the two triggers during the run made one run
    debouncer.close();
  });

  it('runs nothing after close()', async () => {
    const { debouncer, starts } = recorder(50, 500);
    debouncer.trigger();
    await until(() => starts.length === 1);
    debouncer.trigger(); // waits for the quiet time
    debouncer.close();
    debouncer.trigger();
    await sleep(200);
    expect(starts).toHaveLength(1);
  });
});
