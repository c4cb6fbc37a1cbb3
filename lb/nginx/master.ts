import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import { delay } from '../../src/backoff.js';
import { describeError, FabricError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { fatalLinesSince, linesSince, logOffset, servedVersion } from './control.js';
import { findLeftover, processesOf } from './leftover.js';
import { ABORT_STEPS, gracefulSteps, killQuietly, type StopStep, spawnDetached, terminate } from './process.js';
import { childPids, isNginx, workerRetired } from './procfs.js';
import type { NginxPaths } from './view.js';

/**
 * `adopting`: looking at what an earlier router left on this config. `released`: left running
 * for the next router (`--lb-on-exit keep`); this object is done with it.
 */
export type NginxMasterState = 'stopped' | 'adopting' | 'starting' | 'running' | 'reloading' | 'stopping' | 'exited' | 'released';

/** Nothing runs under this object: adopt() or start() may. */
const IDLE: NginxMasterState[] = ['stopped', 'exited'];

/** An adopted master is not the router's child: its death is noticed by polling its pid. */
const ADOPTED_POLL_MS = 250;

export interface NginxMasterOptions {
  binary: string;
  paths: NginxPaths;
  logger: Logger;
  /** How long a start or a reload may take to be confirmed. */
  confirmTimeoutMs: number;
}

/** The master the router supervises: its own child (spawned detached), or one an earlier router left. */
type Supervised = { kind: 'child'; pid: number; child: ChildProcess } | { kind: 'adopted'; pid: number; poll: NodeJS.Timeout };

/** Where to start reading nginx's error log and output for what it says about one start or reload. */
interface Offsets {
  errorLog: number;
  output: number;
}

/**
 * nginx's master process, supervised by the router
 * (`nginx -p dir -e log -c conf -g 'daemon off; master_process on;'`, in a process group of its
 * own, so it outlives the router when asked to). A reload is SIGHUP, which nginx answers with
 * nothing: it counts only once the control server answers with the new config's version (so new
 * workers serve it), and fails at once when nginx logs an `[emerg]` for it (the old workers then
 * keep serving).
 */
export class NginxMaster extends EventEmitter {
  private process: Supervised | undefined;
  private currentState: NginxMasterState = 'stopped';
  /** Worker pids seen, so none is left behind when the master dies under us (they would hold the ports). */
  private readonly workers = new Set<number>();
  /** An adoption in progress: stop() and release() wait for it, so what it takes over is stopped or released too. */
  private adopting: Promise<string | undefined> | undefined;

  constructor(private readonly options: NginxMasterOptions) {
    super();
  }

  /** `exit`: the supervised nginx died (not stopped by this object); the reason, for the log. */
  override on(event: 'exit', listener: (reason: string) => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: the implementation signature behind the typed overloads above
  override on(event: string, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  get state(): NginxMasterState {
    return this.currentState;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** Whether the nginx supervised was found running (adopted) rather than started by this object. */
  get adopted(): boolean {
    return this.process?.kind === 'adopted';
  }

  get idle(): boolean {
    return IDLE.includes(this.currentState);
  }

  /**
   * Looks for an nginx an earlier router left on this config. A master of this config whose
   * control server answers is adopted (supervised by pid from now on): resolves with the version
   * it serves. Anything else found (no answer, another config, workers without a master) is
   * stopped, and the log says why; then resolves with undefined, as when nothing runs.
   */
  async adopt(): Promise<string | undefined> {
    this.expectState('adopt', IDLE);
    this.currentState = 'adopting';
    this.adopting = this.takeOver();
    try {
      return await this.adopting;
    } finally {
      this.adopting = undefined;
    }
  }

  /** adopt()'s steps: find what runs on the config → stop what cannot be used → supervise what can. */
  private async takeOver(): Promise<string | undefined> {
    const { paths, logger } = this.options;
    try {
      const found = await findLeftover(paths);
      if (found.kind === 'unusable') {
        logger.warn(
          { code: 'FABRIC_ERR_ADOPT', pids: found.pids, reason: found.reason },
          `cannot adopt the nginx left on ${paths.config} (${found.reason}); stopping it`,
        );
        await terminate(found.pids, gracefulSteps(5_000), logger);
        return undefined;
      }
      if (found.kind === 'none') return undefined;
      if (found.strays.length > 0) {
        logger.warn({ pids: found.strays }, 'nginx processes of this config outside the adopted master (workers of an earlier one); stopping them');
        await terminate(found.strays, gracefulSteps(5_000), logger);
      }
      this.superviseAdopted(found.pid);
      this.currentState = 'running';
      this.noteWorkers();
      logger.info({ pid: found.pid, version: found.version, workers: [...this.workers] }, 'adopted nginx left running by an earlier router');
      return found.version;
    } finally {
      if (this.currentState === 'adopting') this.currentState = 'stopped';
    }
  }

  /** Starts nginx on the config at `paths.config`; resolves once it serves `version` (or any version). */
  async start(version?: string): Promise<string> {
    this.expectState('start', IDLE);
    this.currentState = 'starting';
    const { paths, binary } = this.options;
    try {
      await this.clearLeftovers();
      const offsets = await this.offsets();
      const args = ['-p', `${paths.dir}/`, '-e', paths.errorLog, '-c', paths.config, '-g', 'daemon off; master_process on;'];
      this.superviseChild(await spawnDetached(binary, args, paths.output));
      const served = await this.confirm(version, offsets, 'start');
      if (this.currentState === 'starting') this.currentState = 'running';
      this.noteWorkers();
      return served;
    } catch (err) {
      await this.abortStart();
      throw err instanceof FabricError ? err : new FabricError('FABRIC_ERR_RELOAD', `nginx could not run: ${binary}: ${describeError(err)}`, { cause: err });
    }
  }

  /**
   * SIGHUP, then waits until the new workers answer with `version` and every
   * worker of the old generation has stopped accepting connections.
   */
  async reload(version: string): Promise<void> {
    const pid = this.process?.pid;
    if (this.currentState !== 'running' || pid === undefined) throw new FabricError('FABRIC_ERR_RELOAD', `cannot reload: nginx is ${this.currentState}`);
    this.currentState = 'reloading';
    try {
      const offsets = await this.offsets();
      const oldWorkers = childPids(pid);
      process.kill(pid, 'SIGHUP');
      await this.confirm(version, offsets, 'reload');
      this.noteWorkers();
      await this.waitRetired(oldWorkers);
    } finally {
      if (this.currentState === 'reloading') this.currentState = 'running';
    }
  }

  /** Graceful stop (QUIT: workers finish their requests), then TERM, then KILL of master and workers, by pid. */
  async stop(graceMs = 5_000): Promise<void> {
    await this.adopting?.catch(() => undefined);
    await this.terminateSupervised(gracefulSteps(graceMs));
  }

  /**
   * `--lb-on-exit keep`: nginx goes on serving after the router is gone, for the next router to
   * adopt. Nothing of it depends on this process (its own process group, output to a file), so
   * releasing it is only ceasing to watch it.
   */
  async release(): Promise<void> {
    await this.adopting?.catch(() => undefined);
    const proc = this.process;
    if (!proc) return;
    this.unsupervise();
    this.currentState = 'released';
    this.options.logger.info({ pid: proc.pid }, 'nginx left running for the next router to adopt');
  }

  /** Polls the control server until it answers `version` (any, when undefined); an [emerg] or an exit fails at once. */
  private async confirm(version: string | undefined, offsets: Offsets, what: 'start' | 'reload'): Promise<string> {
    const deadline = Date.now() + this.options.confirmTimeoutMs;
    while (Date.now() < deadline) {
      if (!this.process) throw new FabricError('FABRIC_ERR_RELOAD', `nginx did not ${what}: ${await this.explain(offsets)}`);
      const served = await servedVersion(this.options.paths.controlSocket, 1_000).catch(() => undefined);
      if (served !== undefined && (version === undefined || served === version)) return served;
      const fatal = await fatalLinesSince(this.options.paths.errorLog, offsets.errorLog);
      if (fatal.length > 0) throw refusal(what, fatal);
      await delay(what === 'start' ? 20 : 10);
    }
    throw new FabricError('FABRIC_ERR_RELOAD', `nginx did not confirm the ${what} within ${this.options.confirmTimeoutMs} ms: ${await this.explain(offsets)}`);
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

  private async offsets(): Promise<Offsets> {
    return { errorLog: await logOffset(this.options.paths.errorLog), output: await logOffset(this.options.paths.output) };
  }

  private async explain(offsets: Offsets): Promise<string> {
    const { paths } = this.options;
    const output = (await linesSince(paths.output, offsets.output)).slice(-5);
    const fatal = (await fatalLinesSince(paths.errorLog, offsets.errorLog)).slice(-3);
    return [...output, ...fatal].join(' | ') || 'nothing in its log';
  }

  private superviseChild(child: ChildProcess): void {
    const proc: Supervised = { kind: 'child', pid: child.pid!, child };
    this.process = proc;
    child.once('exit', (code, signal) => this.onExit(proc, `nginx exited (${signal ?? code})`));
  }

  private superviseAdopted(pid: number): void {
    const poll = setInterval(() => {
      if (!isNginx(pid)) this.onExit(proc, `nginx (pid ${pid}, adopted) is gone`);
    }, ADOPTED_POLL_MS);
    poll.unref();
    const proc: Supervised = { kind: 'adopted', pid, poll };
    this.process = proc;
  }

  private unsupervise(): void {
    const proc = this.process;
    this.process = undefined;
    if (proc?.kind === 'adopted') clearInterval(proc.poll);
    if (proc?.kind === 'child') {
      proc.child.removeAllListeners('exit');
      proc.child.unref();
    }
  }

  private onExit(proc: Supervised, reason: string): void {
    if (this.process !== proc) return; // already handled
    // A failed start is reported by start() itself; only the death of a serving nginx is news.
    const expected = this.currentState === 'stopping' || this.currentState === 'starting';
    this.unsupervise();
    this.currentState = 'exited';
    if (expected) return;
    this.options.logger.error({ reason, pid: proc.pid, adopted: proc.kind === 'adopted' }, 'nginx exited unexpectedly');
    // Workers outlive a killed master and keep its listening sockets: ask them to finish and go.
    for (const pid of this.workers) if (isNginx(pid)) killQuietly(pid, 'SIGQUIT');
    this.emit('exit', reason);
  }

  private async terminateSupervised(steps: StopStep[]): Promise<void> {
    const proc = this.process;
    if (proc) {
      this.currentState = 'stopping';
      const pids = [proc.pid, ...new Set([...childPids(proc.pid), ...this.workers])];
      await terminate(pids, steps, this.options.logger);
      this.unsupervise();
    }
    this.workers.clear();
    this.currentState = 'stopped';
  }

  /** A start that failed: whatever it left is stopped without a grace period (it never served). */
  private async abortStart(): Promise<void> {
    await this.terminateSupervised(ABORT_STEPS);
  }

  /**
   * An nginx still on this config (workers of a master that died, one that could not be adopted)
   * holds the ports and the control socket: stop it, by pid and only if it is nginx, then clear the
   * socket (a killed master leaves it, and nginx cannot bind over it).
   */
  private async clearLeftovers(): Promise<void> {
    const { paths, logger } = this.options;
    const stale = [...new Set([...this.workers, ...(await processesOf(paths))])].filter(isNginx);
    this.workers.clear();
    if (stale.length > 0) {
      logger.warn({ pids: stale }, 'nginx processes from an earlier run still hold this config; stopping them');
      await terminate(stale, gracefulSteps(5_000), logger);
    }
    await rm(paths.controlSocket, { force: true });
  }

  private noteWorkers(): void {
    for (const pid of this.workers) if (!isNginx(pid)) this.workers.delete(pid);
    if (this.process) for (const pid of childPids(this.process.pid)) this.workers.add(pid);
  }

  private expectState(what: string, allowed: NginxMasterState[]): void {
    if (!allowed.includes(this.currentState)) throw new Error(`NginxMaster.${what}() while ${this.currentState}`);
  }
}

/** nginx logged `[emerg]` for a start or reload: a port another process holds is an error of its own. */
function refusal(what: 'start' | 'reload', fatal: string[]): FabricError {
  const inUse = fatal.map((line) => /bind\(\) to (\S+) failed \(98: Address already in use\)/.exec(line)?.[1]).find((a) => a !== undefined);
  if (inUse) {
    return new FabricError('FABRIC_ERR_PORT_IN_USE', `nginx cannot listen on ${inUse}: the address is in use by another process (${fatal.at(-1)})`, {
      details: { address: inUse },
    });
  }
  return new FabricError('FABRIC_ERR_RELOAD', `nginx refused the ${what}: ${fatal.slice(-3).join(' | ')}`);
}
