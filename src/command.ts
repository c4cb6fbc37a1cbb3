import { type ChildProcess, spawn } from 'node:child_process';
import { FabricError } from './errors.js';

export interface CommandResult {
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface CommandOptions {
  timeoutMs: number;
  /** Added to (and overriding) this process's environment. */
  env?: Record<string, string>;
}

/** Output kept per stream: enough for an error message, bounded for a chatty command. */
const MAX_OUTPUT = 64 * 1024;

/** Process groups of the commands running now, killed if fabric itself exits. */
const running = new Set<number>();
let exitHookInstalled = false;

/**
 * Runs an operator-supplied command line (check, reload, apply) through
 * `/bin/sh -c`, in a process group of its own. When it overruns, the whole
 * group gets SIGKILL: a `sleep 100` behind `sh -c` dies with its shell, so a
 * hung reload never blocks the router nor lingers after it.
 */
export async function runCommand(commandLine: string, options: CommandOptions): Promise<CommandResult> {
  const started = Date.now();
  const child = spawn('/bin/sh', ['-c', commandLine], {
    detached: true, // its own process group, so a timeout can kill every process in it
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  const outcome = await supervise(child, options.timeoutMs);
  const durationMs = Date.now() - started;
  if (outcome.timedOut) {
    throw new FabricError('FABRIC_ERR_COMMAND_TIMEOUT', `"${commandLine}" killed after ${options.timeoutMs} ms`, {
      details: { output: lastLines(outcome.all) },
    });
  }
  if (outcome.error) {
    throw new FabricError('FABRIC_ERR_COMMAND_FAILED', `"${commandLine}" could not start: ${outcome.error.message}`, { cause: outcome.error });
  }
  if (outcome.code !== 0) {
    const output = lastLines(outcome.all);
    throw new FabricError('FABRIC_ERR_COMMAND_FAILED', `"${commandLine}" exited ${outcome.code ?? outcome.signal}: ${output}`, {
      details: { exitCode: outcome.code, output },
    });
  }
  return { stdout: outcome.stdout, stderr: outcome.stderr, durationMs };
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  error?: Error;
  stdout: string;
  stderr: string;
  all: string;
}

/** Collects the output, enforces the deadline on the group, resolves once the pipes close. */
function supervise(child: ChildProcess, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const out = { stdout: '', stderr: '', all: '' };
    let timedOut = false;
    const group = child.pid;
    if (group !== undefined) track(group);
    const collect = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      out[stream] = keepTail(out[stream] + text);
      out.all = keepTail(out.all + text);
    };
    child.stdout?.on('data', collect('stdout'));
    child.stderr?.on('data', collect('stderr'));
    const timer = setTimeout(() => {
      timedOut = true;
      if (group !== undefined) killGroup(group);
    }, timeoutMs);
    let done = false;
    const finish = (result: Pick<Outcome, 'code' | 'signal'> & { error?: Error }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (group !== undefined) running.delete(group);
      resolve({ ...result, timedOut, ...out });
    };
    child.once('error', (error) => finish({ code: null, signal: null, error }));
    child.once('close', (code, signal) => finish({ code, signal }));
    // A daemon the command started may hold the pipes open: once the shell has exited, its status
    // is the answer; the daemon is left alone (it was meant to stay).
    child.once('exit', (code, signal) => {
      setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish({ code, signal });
      }, PIPE_DRAIN_MS).unref();
    });
  });
}

/** How long output is still read after the shell exited. */
const PIPE_DRAIN_MS = 250;

function killGroup(group: number): void {
  try {
    process.kill(-group, 'SIGKILL');
  } catch {
    // already gone
  }
}

function track(group: number): void {
  running.add(group);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const g of running) killGroup(g);
  });
}

function keepTail(text: string): string {
  return text.length > MAX_OUTPUT ? text.slice(-MAX_OUTPUT) : text;
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-20).join('\n');
}
