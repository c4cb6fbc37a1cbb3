import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FabricError } from '../src/errors.js';
import type { Logger } from '../src/log.js';
import { preferredPort } from './ports.js';
import type { ProbeResult } from './progress.js';

export interface EmbeddedEtcdOptions {
  /** `<data-dir>`: etcd keeps its data in `<data-dir>/etcd`, its log in `<data-dir>/etcd.log`. */
  dataDir: string;
  binary?: string;
  logger: Logger;
}

/**
 * The `etcd` binary as `fabric up`'s private store: one member on loopback
 * (2379/2380 when free, else ports the kernel picks), in its own process
 * group so a terminal's Ctrl-C reaches only fabric, which stops it last.
 */
export class EmbeddedEtcd {
  private child: ChildProcess | undefined;
  private exitReason: string | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly endpoint: string,
    private readonly options: EmbeddedEtcdOptions,
    private readonly pidFile: string,
  ) {}

  /** Picks ports, clears what a crashed run left, and spawns etcd (ready once `probe` says so). */
  static async start(options: EmbeddedEtcdOptions): Promise<EmbeddedEtcd> {
    const etcdDir = join(options.dataDir, 'etcd');
    mkdirSync(options.dataDir, { recursive: true });
    const pidFile = join(options.dataDir, 'etcd.pid');
    await killLeftover(pidFile, etcdDir, options.logger);
    const clientPort = await preferredPort('127.0.0.1', 2379);
    const peerPort = await preferredPort('127.0.0.1', clientPort === 2379 ? 2380 : 0);
    const etcd = new EmbeddedEtcd(`http://127.0.0.1:${clientPort}`, options, pidFile);
    etcd.spawn(etcdDir, peerPort);
    return etcd;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get logFile(): string {
    return join(this.options.dataDir, 'etcd.log');
  }

  /** Why etcd is gone, if it exited by itself. */
  get exited(): string | undefined {
    return this.exitReason;
  }

  /** GET /health answers {"health":"true"}. */
  async probe(): Promise<ProbeResult> {
    const response = await fetch(`${this.endpoint}/health`, { signal: AbortSignal.timeout(1_000) });
    const body = await response.text();
    return response.ok && body.includes('"health":"true"') ? { ready: true } : { ready: false, reason: `${response.status} ${body.slice(0, 200)}` };
  }

  /** SIGTERM, SIGKILL after `graceMs`; idempotent. */
  stop(graceMs = 5_000): Promise<void> {
    this.stopping ??= this.terminate(graceMs);
    return this.stopping;
  }

  private spawn(etcdDir: string, peerPort: number): void {
    const peer = `http://127.0.0.1:${peerPort}`;
    const log = openSync(this.logFile, 'a');
    const args = [
      '--name=fabric',
      `--data-dir=${etcdDir}`,
      `--listen-client-urls=${this.endpoint}`,
      `--advertise-client-urls=${this.endpoint}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=fabric=${peer}`,
      '--initial-cluster-state=new',
      '--listen-metrics-urls=',
    ];
    try {
      this.child = spawn(this.options.binary ?? 'etcd', args, { stdio: ['ignore', log, log], detached: true });
    } finally {
      closeSync(log);
    }
    const child = this.child;
    // However fabric ends (a second Ctrl-C, a hung stop), etcd does not outlive it.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('error', (err) => (this.exitReason = `could not run etcd: ${err.message} (Debian: apt-get install etcd-server)`));
    child.once('exit', (code, signal) => {
      this.exitReason ??= `etcd exited (${signal ?? `code ${code}`}); see ${this.logFile}`;
      process.removeListener('exit', killOnExit);
      rmSync(this.pidFile, { force: true });
      if (!this.stopping) this.options.logger.error({ reason: this.exitReason }, 'embedded etcd exited');
    });
    if (child.pid) writeFileSync(this.pidFile, `${child.pid}\n`);
    this.options.logger.info({ pid: child.pid, endpoint: this.endpoint, dataDir: etcdDir }, 'embedded etcd started');
  }

  private async terminate(graceMs: number): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    this.options.logger.info('embedded etcd stopped');
  }
}

/**
 * A previous `fabric up` that was killed outright leaves its etcd running (it
 * has its own process group) and holding the data dir: stop it, but only if
 * the pid still is an etcd on this data dir.
 */
async function killLeftover(pidFile: string, etcdDir: string, logger: Logger): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 1) return;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return; // gone
  }
  if (!cmdline.split('\0').includes(`--data-dir=${etcdDir}`)) return;
  logger.warn({ pid }, 'stopping the etcd a previous fabric up left running');
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    throw new FabricError('FABRIC_ERR_STARTUP', `an etcd left by a previous run (pid ${pid}) holds ${etcdDir} and cannot be stopped`, { cause: err });
  }
  const deadline = Date.now() + 5_000;
  while (existsSync(`/proc/${pid}`) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}
