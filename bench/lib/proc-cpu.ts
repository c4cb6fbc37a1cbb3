// CPU time that processes spent, read from /proc/<pid>/stat on their side: what a load cost the
// server, whatever the speed of the client that sent it.
import { execFileSync } from 'node:child_process';
import { processTitle } from '../../lb/nginx/procfs.js';
import { statFields } from '../../src/proc.js';
import { withDescendants } from '../../test/harness/proc-scan.js';

/** utime and stime, in clock ticks. */
export interface CpuTicks {
  user: number;
  system: number;
}

/** Clock ticks per second of /proc's utime and stime: `getconf CLK_TCK` (Linux's USER_HZ, 100 where getconf fails). */
export function clockTicksPerSecond(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5_000 }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

/** One process's utime and stime so far; undefined once it is gone. */
export function processTicks(pid: number): CpuTicks | undefined {
  const fields = statFields(pid);
  return fields ? { user: Number(fields[11]), system: Number(fields[12]) } : undefined;
}

/** nginx's master and workers below `rootPid` (a router), by their `nginx: …` titles; HAProxy and others are left out. */
export function nginxPidsBelow(rootPid: number): number[] {
  return withDescendants([rootPid]).filter((pid) => processTitle(pid)?.startsWith('nginx: '));
}

/** CPU ticks of a set of processes at one moment. */
export type CpuSample = Map<number, CpuTicks>;

export function sampleCpu(pids: number[]): CpuSample {
  const sample: CpuSample = new Map();
  for (const pid of pids) {
    const ticks = processTicks(pid);
    if (ticks) sample.set(pid, ticks);
  }
  return sample;
}

export interface CpuDelta extends CpuTicks {
  /** Processes in `before` that are gone from `after`: their last ticks are lost, the delta is short. */
  gone: number[];
}

/** Ticks the processes of `before` spent until `after`. */
export function cpuDelta(before: CpuSample, after: CpuSample): CpuDelta {
  const delta: CpuDelta = { user: 0, system: 0, gone: [] };
  for (const [pid, start] of before) {
    const end = after.get(pid);
    if (!end) {
      delta.gone.push(pid);
      continue;
    }
    delta.user += end.user - start.user;
    delta.system += end.system - start.system;
  }
  return delta;
}
