import { readdirSync, readFileSync } from 'node:fs';

/** A process this one started, as /proc shows it. */
export interface ChildInfo {
  pid: number;
  /** Its command name (`haproxy`, `etcd`). */
  command: string;
  /** Whether it leads a process group of its own (spawned detached, like HAProxy and etcd): its workers are in it. */
  leadsGroup: boolean;
}

/**
 * The direct children of `parent` (Linux /proc): what a forced stop must not leave behind,
 * whatever part of fabric started them.
 */
export function childProcesses(parent = process.pid): ChildInfo[] {
  const children: ChildInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (stat?.ppid === parent) children.push({ pid, command: stat.command, leadsGroup: stat.pgrp === pid });
  }
  return children.sort((a, b) => a.pid - b.pid);
}

/**
 * SIGKILL to each child, to its whole process group when it leads one; returns every pid that
 * got it (group members included). Never throws: a child may be gone already.
 */
export function killChildren(children: ChildInfo[]): number[] {
  const groups = new Set(children.filter((c) => c.leadsGroup).map((c) => c.pid));
  const targets = new Set([...children.map((c) => c.pid), ...processesInGroups(groups)]);
  for (const child of children) {
    try {
      process.kill(child.leadsGroup ? -child.pid : child.pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  return [...targets];
}

/** Until none of `pids` runs any more (gone, or a zombie waiting to be reaped), at most `timeoutMs`. */
export async function waitGone(pids: number[], timeoutMs = 3_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let running = pids.filter(isRunning);
  while (running.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    running = running.filter(isRunning);
  }
  return running;
}

function isRunning(pid: number): boolean {
  const state = readStat(pid)?.state;
  return state !== undefined && state !== 'Z' && state !== 'X';
}

function processesInGroups(groups: Set<number>): number[] {
  if (groups.size === 0) return [];
  return readdirSync('/proc')
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && groups.has(readStat(pid)?.pgrp ?? -1));
}

/** `haproxy (pid 12), etcd (pid 13)`. */
export function describeChildren(children: ChildInfo[]): string {
  return children.map((c) => `${c.command} (pid ${c.pid})`).join(', ');
}

/** `/proc/<pid>/stat`: "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses. */
function readStat(pid: number): { command: string; state: string; ppid: number; pgrp: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited while listing
  }
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  return { command: text.slice(text.indexOf('(') + 1, close), state: fields[0] ?? '', ppid: Number(fields[1]), pgrp: Number(fields[2]) };
}
