import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFile, rm } from 'node:fs/promises';
import { delay } from '../../src/backoff.js';
import { FabricError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { fatalLinesSince, logOffset, servedVersion } from './control.js';
import { childPids, isNginx, workerRetired } from './procfs.js';
import type { NginxPaths } from './view.js';

export type NginxMasterState = 'stopped' | 'starting' | 'running' | 'reloading' | 'stopping' | 'exited';

export interface NginxMasterOptions {
  binary: string;
  paths: NginxPaths;
  logger: Logger;
  /** How long a start or a reload may take to be confirmed. */
  confirmTimeoutMs: number;
}

/**
 * nginx's master process, started and watched by the router
 * (`nginx -p dir -e log -c conf -g 'daemon off;'`). A reload is SIGHUP, which
 * nginx answers with nothing: it counts only once the control server answers
 * with the new config's version (so new workers serve it), and fails at once
 * when nginx logs an `[emerg]` for it (the old workers then keep serving).
 */
export class NginxMaster extends EventEmitter {
  private child: ChildProcess | undefined;
  private currentState: NginxMasterState = 'stopped';
  private readonly recentOutput: string[] = [];
  /** Worker pids seen, so none is left behind when the master dies under us (they would hold the ports). */
  private readonly workers = new Set<number>();

  constructor(private readonly options: NginxMasterOptions) {
    super();
  }

  override on(event: 'exit', listener: (reason: string) => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: the implementation signature behind the typed overloads above
  override on(event: string, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  get state(): NginxMasterState {
    return this.currentState;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts nginx on the config at `paths.config`; resolves once it serves `version` (or any version). */
  async start(version?: string): Promise<string> {
    if (this.currentState === 'running' || this.currentState === 'reloading') throw new Error(`NginxMaster.start() while ${this.currentState}`);
    this.currentState = 'starting';
    await this.clearStale();
    const { paths, binary } = this.options;
    const offset = await logOffset(paths.errorLog);
    const child = spawn(binary, ['-p', `${paths.dir}/`, '-e', paths.errorLog, '-c', paths.config, '-g', 'daemon off; master_process on;'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const remember = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) this.remember(line);
    };
    child.stdout!.on('data', remember);
    child.stderr!.on('data', remember);
    child.once('error', (err) => {
      this.remember(`spawn ${binary}: ${err.message}`);
      this.onExit(child, `nginx could not run: ${err.message}`);
    });
    child.once('exit', (code, signal) => this.onExit(child, `nginx exited (${signal ?? code})`));
    try {
      return await this.confirm(version, offset, 'start');
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /**
   * SIGHUP, then waits until the new workers answer with `version` and every
   * worker of the old generation has stopped accepting connections.
   */
  async reload(version: string): Promise<void> {
    const pid = this.child?.pid;
    if (this.currentState !== 'running' || pid === undefined) throw new FabricError('FABRIC_ERR_RELOAD', `cannot reload: nginx is ${this.currentState}`);
    this.currentState = 'reloading';
    try {
      const offset = await logOffset(this.options.paths.errorLog);
      const oldWorkers = childPids(pid);
      this.recentOutput.length = 0;
      process.kill(pid, 'SIGHUP');
      await this.confirm(version, offset, 'reload');
      await this.waitRetired(oldWorkers);
    } finally {
      if (this.currentState === 'reloading') this.currentState = 'running';
    }
  }

  /** Graceful stop (QUIT: workers finish their requests), then TERM, then KILL of master and workers. */
  async stop(graceMs = 5_000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.currentState = 'stopped';
      return;
    }
    this.currentState = 'stopping';
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const workers = new Set(childPids(child.pid!));
    const steps: Array<[NodeJS.Signals, number]> = [
      ['SIGQUIT', graceMs],
      ['SIGTERM', 2_000],
      ['SIGKILL', 2_000],
    ];
    let escalated = false;
    for (const [signal, waitMs] of steps) {
      for (const pid of childPids(child.pid!)) workers.add(pid);
      if (signal === 'SIGKILL') for (const pid of workers) killQuietly(pid, 'SIGKILL');
      killQuietly(child.pid!, signal);
      const done = await Promise.race([exited.then(() => true), delay(waitMs).then(() => false)]);
      if (done) break;
      escalated = true;
      this.options.logger.warn({ signal, waitMs }, 'nginx did not stop in time; escalating');
    }
    // Workers of a master that had to be killed are orphans: make sure none outlives the router.
    if (escalated) for (const pid of workers) if (isNginx(pid)) killQuietly(pid, 'SIGKILL');
    this.currentState = 'stopped';
  }

  recentLog(): string[] {
    return [...this.recentOutput];
  }

  /** Polls the control server until it answers `version` (any, when undefined); an [emerg] or an exit fails at once. */
  private async confirm(version: string | undefined, offset: number, what: 'start' | 'reload'): Promise<string> {
    const deadline = Date.now() + this.options.confirmTimeoutMs;
    while (Date.now() < deadline) {
      if (this.currentState === 'exited' || this.currentState === 'stopped') {
        throw new FabricError('FABRIC_ERR_RELOAD', `nginx did not ${what}: ${await this.explain(offset)}`);
      }
      const served = await servedVersion(this.options.paths.controlSocket, 1_000).catch(() => undefined);
      if (served !== undefined && (version === undefined || served === version)) {
        this.currentState = 'running';
        this.noteWorkers();
        return served;
      }
      const fatal = await fatalLinesSince(this.options.paths.errorLog, offset);
      if (fatal.length > 0) throw new FabricError('FABRIC_ERR_RELOAD', `nginx refused the ${what}: ${fatal.slice(-3).join(' | ')}`);
      await delay(what === 'start' ? 20 : 10);
    }
    throw new FabricError('FABRIC_ERR_RELOAD', `nginx did not confirm the ${what} within ${this.options.confirmTimeoutMs} ms: ${await this.explain(offset)}`);
  }

  /** Old workers get QUIT right after the new ones start; until they take it, they may still accept a connection. */
  private async waitRetired(pids: number[]): Promise<void> {
    const deadline = Date.now() + this.options.confirmTimeoutMs;
    while (!pids.every(workerRetired)) {
      if (Date.now() >= deadline) {
        throw new FabricError(
          'FABRIC_ERR_RELOAD',
          `nginx's old workers (${pids.filter((p) => !workerRetired(p)).join(' ')}) still accept connections after the reload`,
        );
      }
      await delay(5);
    }
  }

  private async explain(offset: number): Promise<string> {
    const fatal = await fatalLinesSince(this.options.paths.errorLog, offset);
    return [...this.recentOutput.slice(-5), ...fatal.slice(-3)].join(' | ') || 'nothing in its log';
  }

  private onExit(child: ChildProcess, reason: string): void {
    if (this.child !== child) return; // already handled ('error' and 'exit' can both come)
    // A failed start is reported by start() itself; only the death of a running nginx is news.
    const expected = this.currentState === 'stopping' || this.currentState === 'starting';
    this.currentState = 'exited';
    this.child = undefined;
    if (!expected) {
      this.options.logger.error({ reason, output: this.recentOutput.slice(-10) }, 'nginx exited unexpectedly');
      // Workers outlive a killed master and keep its listening sockets: ask them to finish and go.
      for (const pid of this.workers) if (isNginx(pid)) killQuietly(pid, 'SIGQUIT');
      this.emit('exit', reason);
    }
  }

  /**
   * An nginx left behind (by a router that died, or workers of a master that
   * was killed) holds the ports and the control socket: stop it (by its pid
   * file or the worker pids seen, only if the pid is an nginx), then clear the socket.
   */
  private async clearStale(): Promise<void> {
    const { paths, logger } = this.options;
    const stale = [...this.workers].filter(isNginx);
    this.workers.clear();
    const pid = Number((await readFile(paths.pid, 'utf8').catch(() => '')).trim());
    if (pid > 0 && isNginx(pid)) stale.push(pid);
    if (stale.length === 0) return rm(paths.controlSocket, { force: true });
    logger.warn({ pids: stale }, 'nginx processes from an earlier run still hold this config; stopping them');
    for (const p of stale) killQuietly(p, 'SIGQUIT');
    const deadline = Date.now() + 5_000;
    while (stale.some(isNginx) && Date.now() < deadline) await delay(50);
    for (const p of stale) if (isNginx(p)) killQuietly(p, 'SIGKILL');
    await rm(paths.controlSocket, { force: true });
  }

  private noteWorkers(): void {
    for (const pid of this.workers) if (!isNginx(pid)) this.workers.delete(pid);
    if (this.child?.pid !== undefined) for (const pid of childPids(this.child.pid)) this.workers.add(pid);
  }

  private remember(line: string): void {
    this.recentOutput.push(line);
    if (this.recentOutput.length > 50) this.recentOutput.shift();
    this.options.logger.debug({ nginx: line }, 'nginx output');
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
