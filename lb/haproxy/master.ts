import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import { delay } from '../../src/backoff.js';
import { FabricError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { haproxyCommand, type ProcInfo, parseShowProc } from './socket.js';

export type MasterState = 'stopped' | 'starting' | 'running' | 'reloading' | 'stopping' | 'exited';

export interface MasterOptions {
  binary: string;
  configPath: string;
  masterSocket: string;
  logger: Logger;
}

/**
 * HAProxy in master-worker mode, started and watched by the router. Reloads go
 * through the master CLI one at a time, and each is verified with `show proc`:
 * a reload counts only when the master's reload counter moved and its failure
 * counter did not.
 */
export class HaproxyMaster extends EventEmitter {
  private child: ChildProcess | undefined;
  private currentState: MasterState = 'stopped';
  private readonly recentOutput: string[] = [];

  constructor(private readonly options: MasterOptions) {
    super();
  }

  override on(event: 'exit', listener: (reason: string) => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: the implementation signature behind the typed overloads above
  override on(event: string, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  get state(): MasterState {
    return this.currentState;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<ProcInfo> {
    if (this.currentState === 'running') throw new Error('HaproxyMaster.start() while running');
    this.currentState = 'starting';
    await rm(this.options.masterSocket, { force: true });
    const child = spawn(this.options.binary, ['-W', '-S', `${this.options.masterSocket},mode,600`, '-f', this.options.configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a terminal's Ctrl-C reaches the router, which stops HAProxy gracefully.
      detached: true,
    });
    this.child = child;
    const remember = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) this.remember(line);
    };
    child.stdout!.on('data', remember);
    child.stderr!.on('data', remember);
    child.once('exit', (code, signal) => {
      const reason = `haproxy exited (${signal ?? code})`;
      // A failed start is reported by start() itself; only a crash of a running HAProxy is news.
      const expected = this.currentState === 'stopping' || this.currentState === 'starting';
      this.currentState = 'exited';
      this.child = undefined;
      if (!expected) {
        this.options.logger.error({ reason, output: this.recentOutput.slice(-10) }, 'haproxy exited unexpectedly');
        this.emit('exit', reason);
      }
    });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if ((this.currentState as MasterState) === 'exited') {
        throw new FabricError('FABRIC_ERR_RELOAD', `haproxy did not start: ${this.recentOutput.slice(-5).join(' | ')}`);
      }
      const info = await this.showProc().catch(() => undefined);
      if (info && info.workers.length > 0) {
        this.currentState = 'running';
        return info;
      }
      await delay(20);
    }
    await this.stop();
    throw new FabricError('FABRIC_ERR_RELOAD', 'haproxy did not come up within 10 s');
  }

  /** Reloads and confirms the new config is the one serving. */
  async reload(): Promise<ProcInfo> {
    if (this.currentState !== 'running') throw new FabricError('FABRIC_ERR_RELOAD', `cannot reload: haproxy is ${this.currentState}`);
    this.currentState = 'reloading';
    try {
      const before = await this.showProc();
      this.recentOutput.length = 0;
      await haproxyCommand(this.options.masterSocket, 'reload').catch(() => ''); // the master closes the socket as it re-executes
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        const after = await this.showProc().catch(() => undefined);
        if (after && after.reloads > before.reloads) {
          if (after.failedReloads > before.failedReloads) {
            throw new FabricError('FABRIC_ERR_RELOAD', `haproxy rejected the reload: ${this.recentOutput.slice(-5).join(' | ') || 'see its log'}`);
          }
          return after;
        }
        await delay(10);
      }
      throw new FabricError('FABRIC_ERR_RELOAD', 'haproxy did not confirm the reload within 15 s');
    } finally {
      if (this.currentState === 'reloading') this.currentState = 'running';
    }
  }

  async showProc(): Promise<ProcInfo> {
    const text = await haproxyCommand(this.options.masterSocket, 'show proc', 2_000);
    const info = parseShowProc(text);
    if (!info) throw new FabricError('FABRIC_ERR_RUNTIME_API', `unexpected "show proc" answer: ${text.slice(0, 200)}`);
    return info;
  }

  /** Soft stop (workers finish their connections), hard kill after the grace period. */
  async stop(graceMs = 5_000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) {
      this.currentState = 'stopped';
      return;
    }
    this.currentState = 'stopping';
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGUSR1');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    this.currentState = 'stopped';
  }

  recentLog(): string[] {
    return [...this.recentOutput];
  }

  private remember(line: string): void {
    this.recentOutput.push(line);
    if (this.recentOutput.length > 50) this.recentOutput.shift();
    this.options.logger.debug({ haproxy: line }, 'haproxy output');
  }
}
