// Child processes the harness starts: output kept in memory (for assertions and failure messages)
// and in test-artifacts/logs/<name>-<pid>.log (for post-mortems). Every process is stopped by pid;
// a process 'exit' hook SIGKILLs survivors so an aborted vitest run orphans nothing.
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Truthy, waitFor } from './wait.js';

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartOptions {
  /** Short name used in logs and the log file name. */
  name: string;
  /** Added to (and overriding) the parent's environment. */
  env?: Record<string, string>;
  cwd?: string;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<ExitResult>;
  isRunning(): boolean;
  /** The last lines of stdout and stderr, interleaved in arrival order. */
  lines(): string[];
  output(): string;
  /** Resolves with the first line (already seen or future) matching `re`; rejects on timeout or exit. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends `signal`, escalates to SIGKILL after `graceMs`. Idempotent. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<ExitResult>;
  kill9(): Promise<ExitResult>;
}

const MAX_LINES = 5_000;
export const LOG_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-artifacts/logs');

const live = new Set<ManagedProcess>();
const exitCleanups: Array<() => void> = [];
let exitHookInstalled = false;

/**
 * Registers a synchronous cleanup for an abnormal exit (teardown never ran). It runs in the
 * process 'exit' hook before surviving children are SIGKILLed, so it can still talk to them.
 */
export function addExitCleanup(fn: () => void): () => void {
  installExitHook();
  exitCleanups.push(fn);
  return () => {
    const i = exitCleanups.indexOf(fn);
    if (i >= 0) exitCleanups.splice(i, 1);
  };
}

export function startProcess(cmd: string, args: string[], opts: StartOptions): ManagedProcess {
  installExitHook();
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: false,
  });
  if (child.pid === undefined) {
    // spawn failures (ENOENT, EACCES) are reported asynchronously; surface them here instead.
    child.once('error', () => {});
    throw new Error(`could not start ${opts.name}: ${cmd} ${args.join(' ')}`);
  }
  const proc = new Managed(child, child.pid, opts.name);
  live.add(proc);
  void proc.exited.then(() => live.delete(proc));
  return proc;
}

/** Stops every process this module started and that is still alive (SIGTERM, then SIGKILL). */
export async function stopAllProcesses(graceMs = 5_000): Promise<void> {
  await Promise.all([...live].map((p) => p.stop('SIGTERM', graceMs)));
}

/** The processes this module started that have not exited yet. */
export function liveProcesses(): ManagedProcess[] {
  return [...live];
}

class Managed implements ManagedProcess {
  readonly logFile: string;
  readonly exited: Promise<ExitResult>;
  private readonly ring: string[] = [];
  private readonly events = new EventEmitter();
  private readonly log: fs.WriteStream;
  private exitResult: ExitResult | undefined;
  /** Set once the output is drained too: no more lines will come. */
  private finalResult: ExitResult | undefined;
  private stopping: Promise<ExitResult> | undefined;

  constructor(
    child: ChildProcess,
    readonly pid: number,
    readonly name: string,
  ) {
    fs.mkdirSync(LOG_DIR, { recursive: true });
    this.logFile = path.join(LOG_DIR, `${name}-${pid}.log`);
    this.log = fs.createWriteStream(this.logFile, { flags: 'a' });
    this.log.on('error', () => {}); // a failing log file must not fail the test
    this.events.setMaxListeners(0);
    this.collect(child.stdout, 'stdout');
    this.collect(child.stderr, 'stderr');
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        const result: ExitResult = { code, signal };
        this.exitResult = result;
        void this.drain(closed).then(() => {
          this.finalResult = result;
          this.events.emit('exit', result);
          resolve(result);
        });
      });
    });
  }

  /**
   * After 'exit', output may still be in the pipes: wait for them to close, so lines() and the log
   * file are complete when `exited` resolves. A grandchild holding the pipes open caps this at 2 s.
   */
  private async drain(closed: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000)));
    await Promise.race([closed, cap]);
    clearTimeout(timer);
    await new Promise<void>((resolve) => this.log.end(resolve));
  }

  isRunning(): boolean {
    return this.exitResult === undefined;
  }

  lines(): string[] {
    return [...this.ring];
  }

  output(): string {
    return this.ring.join('\n');
  }

  waitForLine(re: RegExp, timeoutMs = 15_000): Promise<string> {
    const seen = this.ring.find((line) => re.test(line));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.events.off('line', onLine);
        this.events.off('exit', onExit);
      };
      const onLine = (line: string) => {
        if (!re.test(line)) return;
        cleanup();
        resolve(line);
      };
      const onExit = (result: ExitResult) => {
        cleanup();
        reject(new Error(`${this.name} (pid ${this.pid}) exited ${fmtExit(result)} before printing ${re}\n${this.tail()}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name} (pid ${this.pid}) did not print ${re} within ${timeoutMs} ms\n${this.tail()}`));
      }, timeoutMs);
      this.events.on('line', onLine);
      this.events.on('exit', onExit);
      if (this.finalResult) onExit(this.finalResult);
    });
  }

  stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<ExitResult> {
    if (!this.isRunning()) return this.exited;
    this.stopping ??= this.signalThenKill(signal, graceMs);
    return this.stopping;
  }

  kill9(): Promise<ExitResult> {
    this.signal('SIGKILL');
    return this.exited;
  }

  /** The last lines, for error messages. */
  tail(n = 30): string {
    return this.ring.slice(-n).join('\n');
  }

  private async signalThenKill(signal: NodeJS.Signals, graceMs: number): Promise<ExitResult> {
    this.signal(signal);
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private signal(signal: NodeJS.Signals): void {
    if (!this.isRunning()) return;
    try {
      process.kill(this.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  private collect(stream: NodeJS.ReadableStream | null, label: string): void {
    if (!stream) return;
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) this.push(line);
    });
    stream.on('end', () => {
      if (partial) this.push(partial);
      partial = '';
    });
    stream.on('error', (error) => this.push(`[harness] ${label} error: ${String(error)}`));
  }

  private push(line: string): void {
    this.ring.push(line);
    if (this.ring.length > MAX_LINES) this.ring.splice(0, this.ring.length - MAX_LINES);
    this.log.write(`${line}\n`);
    this.events.emit('line', line);
  }
}

export function fmtExit(result: ExitResult): string {
  return result.signal ? `by ${result.signal}` : `with code ${result.code}`;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: process.kill is.
  process.on('exit', () => {
    for (const cleanup of exitCleanups.splice(0)) {
      try {
        cleanup();
      } catch (error) {
        console.error('[harness] exit cleanup failed:', error);
      }
    }
    for (const proc of live) {
      if (!proc.isRunning()) continue; // exited, output still draining: its pid may be reused
      try {
        process.kill(proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/**
 * Polls `probe` until it is truthy, but fails at once (with the process's last output) if the
 * process exits first: a crashed daemon should not cost the whole readiness timeout.
 */
export async function waitUntilReady<T>(proc: ManagedProcess, probe: () => T | Promise<T>, opts: { timeoutMs?: number; what: string }): Promise<Truthy<T>> {
  const died = new AbortController();
  void proc.exited.then((result) => died.abort(new Error(`${proc.name} (pid ${proc.pid}) exited ${fmtExit(result)} before ${opts.what}\n${tail(proc)}`)));
  try {
    return await waitFor(probe, { ...opts, signal: died.signal });
  } catch (error) {
    if (died.signal.aborted) throw died.signal.reason;
    throw new Error(`${(error as Error).message}\n${proc.name} output:\n${tail(proc)}`);
  }
}

/** The last `n` lines worth reading: the probes' own debug lines (a poll every ~30 ms) would fill all of it. */
function tail(proc: ManagedProcess, n = 30): string {
  return proc
    .lines()
    .filter((line) => !/^\{"level":"(debug|trace)"/.test(line))
    .slice(-n)
    .join('\n');
}
