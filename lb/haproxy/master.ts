import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { open, rm } from 'node:fs/promises';
import { delay } from '../../src/backoff.js';
import { FabricError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { LogFile } from '../../src/log-tail.js';
import { isAlive, portHolders, stopPid } from '../../src/proc.js';
import { haproxyCommand, type ProcInfo, parseShowProc } from './socket.js';

export type MasterState = 'stopped' | 'starting' | 'running' | 'reloading' | 'stopping' | 'exited';

export interface MasterOptions {
  binary: string;
  configPath: string;
  masterSocket: string;
  pidFile: string;
  /** HAProxy's stdout and stderr, appended: it never writes to the router's pipes, so it outlives the router. */
  logFile: string;
  logger: Logger;
}

/** How often a master the router did not start itself (adopted) is checked for life. */
const ADOPTED_POLL_MS = 500;

/**
 * HAProxy in master-worker mode, run by the router: started by it, or adopted
 * from an earlier router (`adopt`). Reloads go through the master CLI one at a
 * time, and each is verified with `show proc`: a reload counts only when the
 * master's reload counter moved and its failure counter did not.
 *
 * HAProxy runs in its own process group with its output in a file, so a router
 * that exits (`release`), crashes or is killed leaves it serving.
 */
export class HaproxyMaster extends EventEmitter {
  private child: ChildProcess | undefined;
  private masterPid: number | undefined;
  private poll: NodeJS.Timeout | undefined;
  private currentState: MasterState = 'stopped';
  private readonly log: LogFile;

  constructor(private readonly options: MasterOptions) {
    super();
    this.log = new LogFile(options.logFile);
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
    return this.masterPid;
  }

  async start(): Promise<ProcInfo> {
    if (this.currentState === 'running' || this.currentState === 'reloading') throw new Error(`HaproxyMaster.start() while ${this.currentState}`);
    this.currentState = 'starting';
    await rm(this.options.masterSocket, { force: true });
    await this.log.trim();
    const offset = await this.log.offset();
    const out = await open(this.options.logFile, 'a');
    let child: ChildProcess;
    try {
      const args = ['-W', '-S', `${this.options.masterSocket},mode,600`, '-f', this.options.configPath, '-p', this.options.pidFile];
      // Its own process group: a terminal's Ctrl-C reaches the router only, which decides what HAProxy does.
      child = spawn(this.options.binary, args, { stdio: ['ignore', out.fd, out.fd], detached: true });
    } finally {
      await out.close();
    }
    // A router on its way out must not wait for HAProxy (`keep`): only the exit event matters.
    child.unref();
    this.child = child;
    this.masterPid = child.pid;
    child.once('error', (err) => this.exited(child, `haproxy could not run: ${err.message}`));
    child.once('exit', (code, signal) => this.exited(child, `haproxy exited (${signal ?? code})`));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if ((this.currentState as MasterState) === 'exited') throw await this.startFailure(offset);
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

  /** Takes over a running master an earlier router left: no restart; its life is watched by polling. */
  adopt(info: ProcInfo): void {
    if (this.currentState !== 'stopped' && this.currentState !== 'exited') throw new Error(`HaproxyMaster.adopt() while ${this.currentState}`);
    this.masterPid = info.masterPid;
    this.currentState = 'running';
    this.poll = setInterval(() => {
      if (this.masterPid === info.masterPid && !isAlive(info.masterPid)) this.exitedAdopted(info.masterPid);
    }, ADOPTED_POLL_MS);
    this.poll.unref();
  }

  /** Reloads and confirms the new config is the one serving. */
  async reload(): Promise<ProcInfo> {
    if (this.currentState !== 'running') throw new FabricError('FABRIC_ERR_RELOAD', `cannot reload: haproxy is ${this.currentState}`);
    this.currentState = 'reloading';
    try {
      const before = await this.showProc();
      await this.log.trim();
      const offset = await this.log.offset();
      await haproxyCommand(this.options.masterSocket, 'reload').catch(() => ''); // the master closes the socket as it re-executes
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        const after = await this.showProc().catch(() => undefined);
        if (after && after.reloads > before.reloads) {
          if (after.failedReloads > before.failedReloads) throw explainFailure('haproxy rejected the reload', await this.log.linesSince(offset));
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

  /** Leaves HAProxy serving and forgets it: the next router adopts it. */
  release(): void {
    this.unwatch();
    this.child?.removeAllListeners('exit');
    this.child = undefined;
    this.masterPid = undefined;
    this.currentState = 'stopped';
  }

  /** Soft stop (listeners close, workers finish their connections), hard kill after the grace period. */
  async stop(graceMs = 5_000): Promise<void> {
    const pid = this.masterPid;
    if (pid === undefined) {
      this.release();
      return;
    }
    this.currentState = 'stopping';
    this.unwatch();
    if (await stopPid(pid, 'SIGUSR1', graceMs)) this.options.logger.warn({ pid, graceMs }, 'haproxy did not stop in time; killed it');
    this.release();
  }

  private unwatch(): void {
    clearInterval(this.poll);
    this.poll = undefined;
  }

  private exited(child: ChildProcess, reason: string): void {
    if (this.child !== child) return; // released, or already handled ('error' and 'exit' can both come)
    // A failed start is reported by start() itself; only a crash of a running HAProxy is news.
    const expected = this.currentState === 'stopping' || this.currentState === 'starting';
    this.currentState = 'exited';
    this.child = undefined;
    this.masterPid = undefined;
    if (!expected) this.crashed(reason);
  }

  private exitedAdopted(pid: number): void {
    this.unwatch();
    this.currentState = 'exited';
    this.masterPid = undefined;
    this.crashed(`adopted haproxy (pid ${pid}) exited`);
  }

  private crashed(reason: string): void {
    void this.log.linesSince(0).then((output) => {
      this.options.logger.error({ reason, output: output.slice(-10) }, 'haproxy exited unexpectedly');
    });
    this.emit('exit', reason);
  }

  private async startFailure(offset: number): Promise<FabricError> {
    return explainFailure('haproxy did not start', await this.log.linesSince(offset));
  }
}

/**
 * HAProxy's own [ALERT] lines say why; a port held by another process gets its own code (and the
 * holder's pid), since with `noreuseport` that is what a second load balancer on the port looks like.
 */
function explainFailure(what: string, output: string[]): FabricError {
  const alerts = output.filter((l) => /\[(ALERT|WARNING)\]/.test(l));
  const shown = (alerts.length ? alerts : output).slice(-5).join(' | ') || 'nothing in its log';
  const taken = [...new Set([...output.join('\n').matchAll(/cannot bind socket \(Address already in use\) for \[([^\]]+)\]/g)].map((m) => m[1]!))];
  if (taken.length > 0) {
    const ports = [...new Set(taken.map((address) => Number(address.split(':').pop())))];
    const holders = ports.flatMap(portHolders).map((h) => `pid ${h.pid} (${h.command})`);
    const by = holders.length ? `held by ${[...new Set(holders)].join(', ')}` : 'held by another process';
    return new FabricError('FABRIC_ERR_PORT_IN_USE', `${what}: ${taken.join(', ')} already in use, ${by}: ${shown}`, {
      details: { addresses: taken, holders },
    });
  }
  return new FabricError('FABRIC_ERR_RELOAD', `${what}: ${shown}`);
}
