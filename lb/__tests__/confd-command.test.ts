// runCommand (src/command.ts): every check/reload/apply command is killed at its deadline, with
// every process it started, and reported with its own code.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../../src/command.js';
import { FabricError } from '../../src/errors.js';
import { waitFor } from '../../test/harness/index.js';

/** Pids of live processes in process group `pgid` (field 5 of /proc/<pid>/stat). */
function groupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && Number(fields[2]) === pgid) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe('runCommand', () => {
  it('returns the output of a command that succeeds', async () => {
    const result = await runCommand('echo hello; echo oops >&2', { timeoutMs: 5_000, env: { X: '1' } });
    expect(result.stdout.trim()).toBe('hello');
    expect(result.stderr.trim()).toBe('oops');
  });

  it('reports a failing command with its exit code and output', async () => {
    const err = await runCommand('echo broken config; exit 3', { timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FabricError);
    expect((err as FabricError).code).toBe('FABRIC_ERR_COMMAND_FAILED');
    expect((err as FabricError).message).toMatch(/exited 3: broken config/);
  });

  it('kills the whole process group at the timeout: a sleep behind sh -c does not linger', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-cmd-'));
    try {
      const pidFile = path.join(dir, 'pid');
      const started = Date.now();
      // `; true` keeps sh from exec'ing sleep: the shell and its child are two processes.
      const err = await runCommand(`echo $$ > ${pidFile}; sleep 100; true`, { timeoutMs: 300 }).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect((err as FabricError).code).toBe('FABRIC_ERR_COMMAND_TIMEOUT');
      expect((err as FabricError).message).toMatch(/killed after 300 ms/);
      const shellPid = Number(fs.readFileSync(pidFile, 'utf8'));
      // SIGKILL is sent; on a loaded machine the sleep may take a moment to be gone (it would linger 100 s if not killed).
      await waitFor(() => groupMembers(shellPid).length === 0, { timeoutMs: 5_000, what: `process group ${shellPid} gone` });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does not wait for a background process that keeps the output open once the shell exited', async () => {
    const started = Date.now();
    const result = await runCommand('(sleep 3 &) ; echo started', { timeoutMs: 10_000 });
    expect(result.stdout.trim()).toBe('started');
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
