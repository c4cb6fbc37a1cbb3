import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomic } from '../../../src/files.js';
import { isKeyAuthorization, isToken } from './keys.js';

/**
 * nginx has no runtime API: it answers ACME challenges from files, one per token
 * (`<dir>/<token>`, the key authorization), served by a static location, so a new challenge
 * needs no reload. Brings `dir` in step with the model: new tokens written, gone ones removed.
 * Tokens passed their grammar in the model and are checked again: no path ever leaves `dir`.
 * Returns how many files changed.
 */
export async function syncChallengeFiles(dir: string, challenges: Array<[string, string]>): Promise<number> {
  await mkdir(dir, { recursive: true });
  const wanted = new Map(challenges.filter(([token, auth]) => isToken(token) && isKeyAuthorization(token, auth)));
  let changed = 0;
  for (const [token, auth] of wanted) if (await writeAtomic(join(dir, token), auth)) changed += 1;
  for (const name of await readdir(dir)) {
    if (wanted.has(name) || name.startsWith('.')) continue;
    await unlink(join(dir, name)).catch(() => undefined);
    changed += 1;
  }
  return changed;
}
