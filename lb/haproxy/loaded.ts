import { readFile, rm } from 'node:fs/promises';
import { writeAtomic } from '../../src/files.js';
import type { Backend, HaproxyDesired, VipFrontend } from './desired.js';

/**
 * The shape of the config HAProxy last loaded (backends, their slot counts, VIP frontends),
 * kept next to it in run/loaded.json. A router that adopts a running HAProxy reads it to know
 * what a reload would change; the servers' values and the maps it reads from HAProxy itself.
 * Written after each verified start or reload, removed while one is under way: a router that
 * dies mid-reload leaves none, and the next one reloads once instead of guessing.
 */
export interface LoadedStructure {
  version: 1;
  backends: Array<Omit<Backend, 'servers'> & { size: number }>;
  frontends: VipFrontend[];
  /** The HTTPS bind and its crt-list (the certificates in it are read from HAProxy). */
  tls?: { bind: string; crtList: string };
}

export function structureOf(desired: HaproxyDesired): LoadedStructure {
  return {
    version: 1,
    backends: desired.backends.map(({ servers, ...backend }) => ({ ...backend, size: servers.length })),
    frontends: desired.frontends ?? [],
    ...(desired.tls ? { tls: { bind: desired.tls.bind, crtList: desired.tls.crtList } } : {}),
  };
}

export async function readLoaded(path: string): Promise<LoadedStructure | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as LoadedStructure;
    return parsed?.version === 1 && Array.isArray(parsed.backends) && Array.isArray(parsed.frontends) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export async function writeLoaded(path: string, desired: HaproxyDesired): Promise<void> {
  await writeAtomic(path, `${JSON.stringify(structureOf(desired))}\n`);
}

export async function forgetLoaded(path: string): Promise<void> {
  await rm(path, { force: true });
}
