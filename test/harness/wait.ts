// Polling with a deadline: the only way harness code waits for something to become true.
// Fixed sleeps are either too short on a busy CI box or waste time everywhere else.

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Named in the timeout error, e.g. "etcd /health on 127.0.0.1:2379". */
  what?: string;
  /** Stops waiting at once, with the signal's reason (e.g. the awaited process died). */
  signal?: AbortSignal;
}

/** What a probe returns once it succeeds: its value minus the falsy ones. */
export type Truthy<T> = Exclude<T, false | 0 | 0n | '' | null | undefined>;

/**
 * Calls `probe` until it returns a truthy value and resolves with that value.
 * A throwing probe counts as "not yet"; its last error is reported on timeout.
 */
export async function waitFor<T>(probe: () => T | Promise<T>, opts: WaitOptions = {}): Promise<Truthy<T>> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const intervalMs = opts.intervalMs ?? 25;
  const what = opts.what ?? 'condition';
  const deadline = Date.now() + timeoutMs;
  let last: { error?: unknown; value?: unknown } = {};
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const value = await probe();
      if (value) return value as Truthy<T>;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${describe(last)}`);
    await delay(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

function describe(last: { error?: unknown; value?: unknown }): string {
  if ('error' in last) {
    return `last error: ${last.error instanceof Error ? last.error.message : String(last.error)}`;
  }
  return `last value: ${safeJson(last.value)}`;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The pause between two probes. Not exported: tests wait for conditions, not for time. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
