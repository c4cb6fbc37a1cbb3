import { chmod, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

/**
 * basicAuth htpasswd files next to nginx's config (docs/routing.md): the directory 0700, each
 * file 0600 (the router runs nginx as its own user), written whole then renamed so nginx never
 * reads half a file. Files no config names any more are removed.
 */
export async function writeAuthFiles(dir: string, files: ReadonlyMap<string, string>): Promise<void> {
  if (files.size === 0) return removeStale(dir, files);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  for (const [path, content] of files) {
    const staged = `${path}.${process.pid}.tmp`;
    await writeFile(staged, content, { mode: 0o600 });
    await chmod(staged, 0o600);
    await rename(staged, path);
  }
  await removeStale(dir, files);
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
