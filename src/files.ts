import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A file written next to its destination, waiting to be validated and swapped in. */
export interface StagedFile {
  path: string;
  dest: string;
  /** Renames the staged file over the destination (atomic on one filesystem). */
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/**
 * Writes `content` to a temp file in the destination's directory (as confd does,
 * to stay on one filesystem) and fsyncs it.
 */
export async function stageFile(dest: string, content: string | Buffer, mode = 0o644): Promise<StagedFile> {
  const dir = dirname(dest);
  await mkdir(dir, { recursive: true });
  const path = join(dir, `.${basename(dest)}.${process.pid}.${randomBytes(4).toString('hex')}.stage`);
  const handle = await open(path, 'w', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return {
    path,
    dest,
    commit: async () => {
      await rename(path, dest);
      await syncDir(dir);
    },
    discard: () => rm(path, { force: true }),
  };
}

/** The file's bytes, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function sameContent(path: string, content: string | Buffer): Promise<boolean> {
  const current = await readIfExists(path);
  return current?.equals(Buffer.isBuffer(content) ? content : Buffer.from(content)) ?? false;
}

/** Atomic replace; skipped when the file already holds exactly these bytes. Returns whether it wrote. */
export async function writeAtomic(dest: string, content: string | Buffer, mode = 0o644): Promise<boolean> {
  if (await sameContent(dest, content)) return false;
  const staged = await stageFile(dest, content, mode);
  await staged.commit();
  return true;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
