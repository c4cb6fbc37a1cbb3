import { chown } from 'node:fs/promises';
import { createTwoFilesPatch } from 'diff';
import { runCommand } from '../src/command.js';
import { describeError, FabricError } from '../src/errors.js';
import { readIfExists, type StagedFile, stageFile } from '../src/files.js';

/**
 * How a target applies what it rendered, fabric's take on confd's modes:
 * `normal` (stage → check → swap → reload), `noop` (report the diff, write
 * nothing), `sync-only` (stage → swap, no check, no reload).
 */
export type SyncMode = 'normal' | 'noop' | 'sync-only';

export interface FileSpec {
  dest: string;
  /** File mode of the written file (default 0644). */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Validates the staged file; `{{src}}` (or confd's `{{.src}}`) is its path. */
  check?: string;
  /** Runs after the swap. */
  reload?: string;
  /** Every command is killed when it overruns. */
  timeoutMs: number;
  /** More `{{name}}` values for the commands (e.g. `slb`). */
  vars?: Record<string, string>;
}

export type SyncResult = { changed: false } | { changed: true; action: 'noop' | 'write' | 'reload'; diff: string };

/**
 * confd's sync, as named steps: compare → stage → check → swap → reload.
 * The destination is replaced only by a staged file that passed the check,
 * so a broken render never reaches the running service.
 */
export async function syncFile(spec: FileSpec, content: string, mode: SyncMode = 'normal'): Promise<SyncResult> {
  const current = (await readIfExists(spec.dest))?.toString('utf8');
  if (current === content) return { changed: false };
  const diff = createTwoFilesPatch(spec.dest, spec.dest, current ?? '', content, 'current', 'rendered');
  if (mode === 'noop') return { changed: true, action: 'noop', diff };
  const staged = await stageFile(spec.dest, content, spec.mode ?? 0o644);
  try {
    await setOwner(staged, spec);
    if (mode === 'normal') await check(staged, spec);
    await staged.commit();
  } finally {
    await staged.discard();
  }
  if (mode === 'normal' && spec.reload) {
    await runCommand(expandCommand(spec.reload, { src: spec.dest, dest: spec.dest, ...spec.vars }), { timeoutMs: spec.timeoutMs });
    return { changed: true, action: 'reload', diff };
  }
  return { changed: true, action: 'write', diff };
}

async function setOwner(staged: StagedFile, spec: FileSpec): Promise<void> {
  if (spec.uid === undefined && spec.gid === undefined) return;
  try {
    await chown(staged.path, spec.uid ?? -1, spec.gid ?? -1);
  } catch (err) {
    throw new FabricError('FABRIC_ERR_CONFIG', `cannot set owner of ${spec.dest}: ${describeError(err)}`, { cause: err });
  }
}

async function check(staged: StagedFile, spec: FileSpec): Promise<void> {
  await checkFile(staged.path, spec);
}

/**
 * Runs `spec.check` on `path` (`{{src}}`): a refusal is FABRIC_ERR_VALIDATE (the file waits for the
 * next change), an overrun stays FABRIC_ERR_COMMAND_TIMEOUT (retried).
 */
export async function checkFile(
  path: string,
  spec: Pick<FileSpec, 'check' | 'dest' | 'timeoutMs' | 'vars'>,
  refused = `check of ${spec.dest} failed`,
): Promise<void> {
  if (!spec.check) return;
  try {
    await runCommand(expandCommand(spec.check, { src: path, dest: spec.dest, ...spec.vars }), { timeoutMs: spec.timeoutMs });
  } catch (err) {
    if (err instanceof FabricError && err.code === 'FABRIC_ERR_COMMAND_TIMEOUT') throw err;
    throw new FabricError('FABRIC_ERR_VALIDATE', `${refused}: ${describeError(err)}`, { cause: err });
  }
}

/**
 * Fills `{{name}}` / `{{.name}}` (confd's spelling) in an operator's command
 * line. Values are shell-quoted: a key or a path can never inject a command.
 */
export function expandCommand(commandLine: string, vars: Record<string, string>): string {
  return commandLine.replace(/\{\{\s*\.?([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (whole, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new FabricError('FABRIC_ERR_CONFIG', `command "${commandLine}" uses ${whole}, which is not defined here`);
    return shellQuote(value);
  });
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
