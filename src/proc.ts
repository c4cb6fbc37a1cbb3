import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { delay } from './backoff.js';

/**
 * Processes by pid, read from /proc: enough to recognise a load balancer an earlier router
 * left running (its binary and config path), and to name the process holding a port.
 */

/** The NUL-separated argv of `pid`; undefined when it is gone (or a zombie with no argv). */
export function processArgs(pid: number): string[] | undefined {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return args.length > 0 ? args : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sends `signal`, ignoring a process already gone. Returns whether it was sent. */
export function signalQuietly(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Whether `pid` runs `binary` (its argv[0] ends with the name) with `arg` among its arguments. */
export function runsWith(pid: number, binary: string, arg: string): boolean {
  const args = processArgs(pid);
  if (!args) return false;
  const name = binary.split('/').pop() ?? binary;
  return (args[0] ?? '').split('/').pop() === name && args.includes(arg);
}

export interface PortHolder {
  pid: number;
  command: string;
}

/**
 * The processes listening on TCP `port` (any address): /proc/net/tcp{,6} give the socket
 * inodes, /proc/<pid>/fd the processes holding them. Best effort, for error messages:
 * without the rights to read another user's fds it finds nothing.
 */
export function portHolders(port: number): PortHolder[] {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      // st 0A: LISTEN
      if (!local || fields[3] !== '0A') continue;
      if (Number.parseInt(local.split(':')[1] ?? '', 16) === port) inodes.add(fields[9] ?? '');
    }
  }
  if (inodes.size === 0) return [];
  const holders: PortHolder[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    if (holdsSocket(pid, inodes)) holders.push({ pid, command: (processArgs(pid) ?? ['?']).join(' ').slice(0, 120) });
  }
  return holders;
}

function holdsSocket(pid: number, inodes: Set<string>): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match && inodes.has(match[1]!)) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

/**
 * Soft-stops `pid` with `signal`, then SIGKILLs it after `graceMs`; resolves once it is gone.
 * Returns whether it had to be killed.
 */
export async function stopPid(pid: number, signal: NodeJS.Signals, graceMs: number): Promise<boolean> {
  signalQuietly(pid, signal);
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await delay(20);
  if (!isAlive(pid)) return false;
  signalQuietly(pid, 'SIGKILL');
  while (isAlive(pid)) await delay(20);
  return true;
}

/**
 * /proc/<pid>/stat after the command name ("pid (comm) state ppid …"; comm may hold spaces and
 * parentheses): [0] is the state, [1] the parent, [11] and [12] utime and stime. Undefined once gone.
 */
export function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The parent of `pid`, from /proc/<pid>/stat. */
export function parentPid(pid: number): number | undefined {
  const fields = statFields(pid);
  return fields ? Number(fields[1]) : undefined;
}

/** The direct children of `pid` (e.g. a load balancer's workers below its master), from /proc. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
