import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import { delay } from '../../src/backoff.js';
import type { Logger } from '../../src/log.js';
import { isNginx, processTitle } from './procfs.js';

/**
 * Starts `binary` in a session and process group of its own (a Ctrl-C at the router's terminal
 * is not sent to it) with stdout and stderr appended to `output` (no pipe to the router, whose
 * death must not touch it). Rejects when it cannot run at all (no such binary).
 */
export async function spawnDetached(binary: string, args: string[], output: string): Promise<ChildProcess> {
  const out = await open(output, 'a');
  let child: ChildProcess;
  let failed: Promise<unknown[]> | undefined;
  try {
    child = spawn(binary, args, { detached: true, stdio: ['ignore', out.fd, out.fd] });
    // A binary that cannot run has no pid, and says why in an 'error' event on the next tick.
    if (child.pid === undefined) failed = once(child, 'error');
  } finally {
    await out.close();
  }
  if (failed) throw (await failed)[0];
  return child;
}

export type StopStep = [signal: NodeJS.Signals, waitMs: number];

/** Graceful first (QUIT: workers finish their requests), then TERM, then KILL. */
export function gracefulSteps(graceMs: number): StopStep[] {
  return [
    ['SIGQUIT', graceMs],
    ['SIGTERM', 2_000],
    ['SIGKILL', 2_000],
  ];
}

/** For an nginx that never served (a failed start): nothing to finish, so no QUIT. */
export const ABORT_STEPS: StopStep[] = [
  ['SIGTERM', 2_000],
  ['SIGKILL', 2_000],
];

/**
 * Stops nginx processes by pid, only while each still is an nginx: signals go to the masters
 * (which stop their own workers), or to the workers themselves when their master is not in the
 * list; the last step (KILL) goes to every one. Resolves once all are gone (or KILLed).
 */
export async function terminate(pids: number[], steps: StopStep[], logger: Logger): Promise<void> {
  const masters = pids.filter((pid) => processTitle(pid)?.startsWith('nginx: master process'));
  const first = masters.length > 0 ? masters : pids;
  for (const [index, [signal, waitMs]] of steps.entries()) {
    const last = index === steps.length - 1;
    for (const pid of (last ? pids : first).filter(isNginx)) killQuietly(pid, signal);
    if (await gone(last ? pids : first, waitMs)) break;
    if (!last) logger.warn({ pids: pids.filter(isNginx), signal, waitMs }, 'nginx did not stop in time; escalating');
  }
  // A master that had to be killed leaves its workers behind: they hold the ports.
  for (const pid of pids.filter(isNginx)) killQuietly(pid, 'SIGKILL');
}

async function gone(pids: number[], waitMs: number): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  while (pids.some(isNginx)) {
    if (Date.now() >= deadline) return false;
    await delay(20);
  }
  return true;
}

export function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
