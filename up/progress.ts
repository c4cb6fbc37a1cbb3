import { describeError } from '../src/errors.js';
import type { Logger } from '../src/log.js';
import { onStdioGone, writeStd } from '../src/stdio.js';

/** Where `fabric up` talks to people: short lines on stdout (the JSON logs go to a file). */
export interface Output {
  line(text: string): void;
}

/**
 * Lines on stdout while it is there. Once it is gone (the pipe closed, the terminal hung up)
 * they go to the log instead, so a shutdown that goes on unseen is still on record.
 */
export function stdoutOutput(logger: Logger): Output {
  onStdioGone((name, reason) => logger.warn({ stream: name, reason }, `${name} is gone: fabric goes on, its lines go to this log`));
  return {
    line: (text) => {
      if (!writeStd('stdout', `${text}\n`)) logger.info({ line: text }, 'output');
    },
  };
}

/** What a readiness probe says: ready, or why not yet. */
export type ProbeResult = { ready: true; detail?: string } | { ready: false; reason: string };

export interface WaitStep {
  /** Shown as "waiting for <what>". */
  what: string;
  probe: () => Promise<ProbeResult>;
  timeoutMs: number;
  intervalMs?: number;
  /** Print "still waiting (reason)" this often. */
  reportEveryMs?: number;
  /** Fails the wait at once with this reason (a child process died). */
  abort?: () => string | undefined;
}

export class WaitTimeout extends Error {}

/**
 * Polls `probe` until ready, with a deadline, telling people what it waits
 * for and, every few seconds, why it is not ready yet.
 */
export async function waitReady(out: Output, step: WaitStep): Promise<string | undefined> {
  const started = Date.now();
  const deadline = started + step.timeoutMs;
  const every = step.reportEveryMs ?? 3_000;
  let nextReport = started + every;
  let reason = 'no answer yet';
  out.line(`  … waiting for ${step.what}`);
  for (;;) {
    const aborted = step.abort?.();
    if (aborted) throw new WaitTimeout(`${step.what}: ${aborted}`);
    const result = await step.probe().catch((err): ProbeResult => ({ ready: false, reason: describeError(err) }));
    if (result.ready) {
      out.line(`  ✓ ${step.what} (${seconds(Date.now() - started)})`);
      return result.detail;
    }
    reason = result.reason;
    const now = Date.now();
    if (now >= deadline) throw new WaitTimeout(`${step.what} not ready after ${seconds(step.timeoutMs)}: ${reason}`);
    if (now >= nextReport) {
      out.line(`    still waiting for ${step.what} (${seconds(now - started)}): ${reason}`);
      nextReport = now + every;
    }
    await new Promise((resolve) => setTimeout(resolve, step.intervalMs ?? 100));
  }
}

/** `GET url` is ready when it answers 200; else its status and body (e.g. /readyz reasons) are the reason. */
export function httpProbe(url: string): () => Promise<ProbeResult> {
  return async () => {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    const body = await response.text();
    if (response.ok) return { ready: true, detail: body };
    return { ready: false, reason: `${response.status} ${reasonsOf(body)}` };
  };
}

function reasonsOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { reasons?: string[] };
    if (Array.isArray(parsed.reasons)) return parsed.reasons.join('; ');
  } catch {
    // not JSON: show it as is
  }
  return body.slice(0, 200);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
