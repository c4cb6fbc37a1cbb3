import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { childPids, processArgs } from '../../src/proc.js';

export { childPids };

// What the router learns about nginx processes from /proc: never trusted blindly (a pid file can
// outlive its process, and pids are reused), always checked before a signal is sent.

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

/** The process title nginx set (`nginx: master process …`), argv joined by spaces; undefined when the process is gone. */
export function processTitle(pid: number): string | undefined {
  return processArgs(pid)?.join(' ');
}

/** Whether `pid` is a live nginx master started on `config` (`-c <config>` in its title). */
export function isNginxMasterOf(pid: number, config: string): boolean {
  const title = processTitle(pid) ?? '';
  return title.startsWith('nginx: master process ') && ` ${title} `.includes(` -c ${config} `);
}

/**
 * nginx masters and workers (titled `nginx: …`, so never an `nginx -t`) that have `file` open:
 * every process of a config holds its error log, including workers whose master is gone.
 */
export function nginxHolding(file: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || !processTitle(pid)?.startsWith('nginx: ')) continue;
    if (holdsOpen(pid, file)) pids.push(pid);
  }
  return pids;
}

function holdsOpen(pid: number, file: string): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  return fds.some((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === file;
    } catch {
      return false;
    }
  });
}
