import { readFile } from 'node:fs/promises';
import { servedVersion } from './control.js';
import { childPids, isNginx, isNginxMasterOf, nginxHolding, processTitle } from './procfs.js';
import type { NginxPaths } from './view.js';

/**
 * What runs on a config when the router comes to it: nothing; an nginx master it can adopt
 * (`strays`: processes of the config that are not that master's, e.g. workers of an earlier
 * master that was killed); or processes it cannot use, with the reason.
 */
export type Leftover =
  | { kind: 'none' }
  | { kind: 'usable'; pid: number; version: string; strays: number[] }
  | { kind: 'unusable'; pids: number[]; reason: string };

/** How long a left-over nginx's control server may take to answer before it counts as unusable. */
const CONTROL_TIMEOUT_MS = 2_000;

/**
 * Looks for an nginx on this config: the pid file next to it names the master; /proc confirms it
 * is nginx started with this `-c`; its control server answering says it serves (and which version).
 */
export async function findLeftover(paths: NginxPaths): Promise<Leftover> {
  const pid = await readPidFile(paths.pid);
  const holders = nginxHolding(paths.errorLog);
  if (pid !== undefined && isNginxMasterOf(pid, paths.config)) {
    const others = holders.filter((p) => p !== pid);
    const version = await servedVersion(paths.controlSocket, CONTROL_TIMEOUT_MS).catch(() => undefined);
    if (version === undefined) return { kind: 'unusable', pids: [pid, ...others], reason: `its control server (${paths.controlSocket}) does not answer` };
    const family = new Set(childPids(pid));
    return { kind: 'usable', pid, version, strays: others.filter((p) => !family.has(p)) };
  }
  if (pid !== undefined && isNginx(pid)) {
    const others = holders.filter((p) => p !== pid);
    return { kind: 'unusable', pids: [pid, ...others], reason: `pid ${pid} of ${paths.pid} is not the master of ${paths.config}: "${processTitle(pid)}"` };
  }
  if (holders.length > 0) return { kind: 'unusable', pids: holders, reason: 'workers of this config run without their master' };
  return { kind: 'none' };
}

/** Every nginx process of this config (its master per the pid file, and whatever holds its error log). */
export async function processesOf(paths: NginxPaths): Promise<number[]> {
  const pid = await readPidFile(paths.pid);
  const master = pid !== undefined && isNginxMasterOf(pid, paths.config) ? [pid] : [];
  return [...new Set([...master, ...nginxHolding(paths.errorLog)])];
}

async function readPidFile(path: string): Promise<number | undefined> {
  const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
