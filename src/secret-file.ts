import { readFileSync } from 'node:fs';
import { describeError, FabricError } from './errors.js';

/**
 * A secret (password, token) read from a file, so it never sits on a command line where every
 * `ps` can read it. One trailing newline is dropped (`echo secret > file`); an empty file is refused.
 * The error names the flag and the file, never what it holds.
 */
export function readSecretFile(file: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new FabricError('FABRIC_ERR_CONFIG', `${flag} ${file}: cannot read it (${describeError(err)})`, { cause: err });
  }
  const secret = text.replace(/\r?\n$/, '');
  if (!secret) throw new FabricError('FABRIC_ERR_CONFIG', `${flag} ${file}: the file is empty`);
  return secret;
}
