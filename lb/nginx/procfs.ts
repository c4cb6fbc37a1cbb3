import { readFileSync } from 'node:fs';

// What the router learns about nginx processes from /proc: never trusted blindly (a pid file can
// outlive its process, and pids are reused), always checked before a signal is sent.

/** The pids of a process's children (nginx's workers), from /proc. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Whether `pid` is a live nginx process (a pid file can outlive its process, and pids are reused). */
export function isNginx(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]!.includes('nginx');
  } catch {
    return false;
  }
}

/**
 * Whether an nginx worker no longer accepts connections: gone, or titled
 * "worker process is shutting down" (set as it closes its listening sockets
 * on the master's QUIT after a reload).
 */
export function workerRetired(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('shutting down');
  } catch {
    return true;
  }
}
