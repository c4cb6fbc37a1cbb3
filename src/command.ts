import { execa } from 'execa';
import { FabricError } from './errors.js';

export interface CommandResult {
  stdout: string;
  stderr: string;
  durationMs: number;
}

/**
 * Runs an operator-supplied command line (check, reload, apply) through the
 * shell, killed when it overruns: a hung reload must never block the router.
 */
export async function runCommand(commandLine: string, options: { timeoutMs: number; env?: Record<string, string> }): Promise<CommandResult> {
  const started = Date.now();
  const result = await execa(commandLine, {
    shell: true,
    reject: false,
    timeout: options.timeoutMs,
    killSignal: 'SIGKILL',
    env: options.env,
    stdin: 'ignore',
    all: true,
  });
  const durationMs = Date.now() - started;
  if (result.timedOut) {
    throw new FabricError('FABRIC_ERR_COMMAND_TIMEOUT', `"${commandLine}" killed after ${options.timeoutMs} ms`);
  }
  if (result.exitCode !== 0) {
    const output = String(result.all ?? '').trim().split('\n').slice(-20).join('\n');
    throw new FabricError('FABRIC_ERR_COMMAND_FAILED', `"${commandLine}" exited ${result.exitCode ?? result.signal}: ${output}`, {
      details: { exitCode: result.exitCode, output },
    });
  }
  return { stdout: String(result.stdout), stderr: String(result.stderr), durationMs };
}
