// Finding processes by their command line in /proc: used only to catch what a daemon leaves
// behind (containerd, shims) by the unique temp path in their arguments. Signals still go by pid.
import fs from 'node:fs';
import { isAlive, parentPid } from '../../src/proc.js';

export { isAlive, parentPid };

/** Pids (other than this process) whose NUL-separated argv contains `needle`. */
export function pidsWithArg(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // exited while scanning
    }
    if (cmdline.split('\0').some((arg) => arg.includes(needle))) pids.push(pid);
  }
  return pids;
}

/** Alive and not a zombie: a killed process whose parent died waits for PID 1 to reap it, holding nothing. */
export function isRunning(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** SIGKILLs each pid, ignoring those already gone; returns the pids it signalled. */
export function killPids(pids: number[]): number[] {
  return pids.filter((pid) => {
    if (pid === process.pid) return false;
    try {
      process.kill(pid, 'SIGKILL');
      return true;
    } catch {
      return false;
    }
  });
}

/** `pids` and all their descendants, parents first: container processes hang below their shim. */
export function withDescendants(pids: number[]): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const ppid = parentPid(pid);
    if (ppid !== undefined) childrenOf.set(ppid, [...(childrenOf.get(ppid) ?? []), pid]);
  }
  const result: number[] = [];
  const queue = [...pids];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    if (result.includes(pid)) continue;
    result.push(pid);
    queue.push(...(childrenOf.get(pid) ?? []));
  }
  return result;
}
