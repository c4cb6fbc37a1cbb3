import { chmod, chown, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

/**
 * basicAuth htpasswd files next to nginx's config (docs/routing.md), written whole then renamed so
 * nginx never reads half a file; files no config names any more are removed. Never world-readable:
 * run by a non-root router, nginx's workers are its own user (directory 0700, files 0600); run by
 * root, they drop to the `user` directive's group (nginx's default: nogroup), which alone may read
 * them (root-owned, directory 0750, files 0640).
 */
export async function writeAuthFiles(dir: string, files: ReadonlyMap<string, string>, config: string): Promise<void> {
  if (files.size === 0) return removeStale(dir, files);
  const gid = process.geteuid?.() === 0 ? await workerGroup(config) : undefined;
  const [dirMode, fileMode] = gid === undefined ? [0o700, 0o600] : [0o750, 0o640];
  await mkdir(dir, { recursive: true, mode: dirMode });
  await chmod(dir, dirMode);
  if (gid !== undefined) await chown(dir, 0, gid);
  for (const [path, content] of files) {
    const staged = `${path}.${process.pid}.tmp`;
    await writeFile(staged, content, { mode: fileMode });
    await chmod(staged, fileMode);
    if (gid !== undefined) await chown(staged, 0, gid);
    await rename(staged, path);
  }
  await removeStale(dir, files);
}

/** The group nginx's workers run as under a root master: `user NAME [GROUP];` of the config, else nginx's default nogroup. */
async function workerGroup(config: string): Promise<number> {
  const directive = /^\s*user\s+([A-Za-z0-9._-]+)(?:\s+([A-Za-z0-9._-]+))?\s*;/m.exec(config);
  const name = directive ? (directive[2] ?? directive[1]!) : 'nogroup';
  const groups = await readFile('/etc/group', 'utf8').catch(() => '');
  for (const line of groups.split('\n')) {
    const [group, , gid] = line.split(':');
    if (group === name && gid && /^\d+$/.test(gid)) return Number(gid);
  }
  // nginx's own fallback: the group of user nobody (65534 on Debian).
  return 65534;
}

async function removeStale(dir: string, files: ReadonlyMap<string, string>): Promise<void> {
  const keep = new Set([...files.keys()].map((p) => basename(p)));
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) if (name.endsWith('.htpasswd') && !keep.has(name)) await rm(join(dir, name), { force: true });
}
