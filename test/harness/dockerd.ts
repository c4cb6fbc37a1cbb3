// Private Docker engines: each with its own data root, exec root, socket and (optionally) bridge,
// so tests never touch (or depend on) the machine's Docker. global-setup.ts starts one for the
// whole run; a cluster test starts more (one per simulated host), with no bridge: their
// containers run in the host network, on loopback ports.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { execa } from 'execa';
import { createTestBridge, deleteBridge, deleteBridgeSync, type TestBridge } from './bridge.js';
import { removeAllContainers } from './containers.js';
import { killPids, pidsWithArg, withDescendants } from './proc-scan.js';
import { addExitCleanup, type ManagedProcess, startProcess, waitUntilReady } from './processes.js';

export const DOCKERD_BIN = '/usr/sbin/dockerd';

export interface DockerdOptions {
  /** A bridge of its own (fabtest0..9, for published ports; the default) or none (host-network containers only). */
  network?: 'bridge' | 'none';
  /** Containers keep running while dockerd restarts (`--live-restore`). */
  liveRestore?: boolean;
  /** For log file names. */
  name?: string;
}

export interface DockerEngine {
  socketPath: string;
  /** unix://<socketPath>, for DOCKER_HOST and --docker flags. */
  dockerHost: string;
  /** The current dockerd's pid (changes on restart). */
  readonly pid: number;
  bridge: TestBridge | undefined;
  /** The temp dir holding data root, exec root, pid file and socket. */
  dir: string;
  readonly process: ManagedProcess;
  docker: Docker;
  /** SIGTERM to dockerd alone, then a new dockerd on the same dirs (containers survive with liveRestore). */
  restart(): Promise<void>;
  /** Removes all containers, stops dockerd and whatever it left, deletes the bridge and temp dir. Idempotent. */
  stop(): Promise<void>;
}

export function dockerClient(socketPath: string): Docker {
  return new Docker({ socketPath });
}

export async function startDockerd(opts: DockerdOptions = {}): Promise<DockerEngine> {
  // Short path: the exec root holds unix sockets, whose paths are limited to 108 bytes.
  const dir = fs.mkdtempSync('/tmp/fd-');
  const bridge = opts.network === 'none' ? undefined : await createTestBridge();
  const engine = new Engine(dir, bridge, opts);
  try {
    await engine.launch();
  } catch (error) {
    await engine.stop();
    throw error;
  }
  return engine;
}

class Engine implements DockerEngine {
  readonly socketPath: string;
  readonly dockerHost: string;
  readonly docker: Docker;
  private current: ManagedProcess | undefined;
  private stopping: Promise<void> | undefined;
  private readonly forgetExitCleanup: () => void;

  constructor(
    readonly dir: string,
    readonly bridge: TestBridge | undefined,
    private readonly opts: DockerdOptions,
  ) {
    this.socketPath = path.join(dir, 'docker.sock');
    this.dockerHost = `unix://${this.socketPath}`;
    this.docker = dockerClient(this.socketPath);
    fs.writeFileSync(path.join(dir, 'daemon.json'), '{}\n'); // ignore /etc/docker/daemon.json
    this.forgetExitCleanup = addExitCleanup(() => emergencyCleanup(dir, bridge?.name, this.socketPath));
  }

  get process(): ManagedProcess {
    if (!this.current) throw new Error('dockerd was never started');
    return this.current;
  }

  get pid(): number {
    return this.process.pid;
  }

  async launch(): Promise<void> {
    const { dir } = this;
    const args = [
      `--config-file=${dir}/daemon.json`,
      `--data-root=${dir}/root`,
      `--exec-root=${dir}/exec`,
      `--pidfile=${dir}/pid`,
      `-H=unix://${this.socketPath}`,
      this.bridge ? `--bridge=${this.bridge.name}` : '--bridge=none',
      '--iptables=false',
      '--ip-masq=false',
      ...(this.opts.liveRestore ? ['--live-restore'] : []),
    ];
    this.current = startProcess(DOCKERD_BIN, args, { name: this.opts.name ?? 'dockerd' });
    await waitUntilReady(this.current, () => this.docker.ping().then(String), { timeoutMs: 60_000, what: 'dockerd /_ping' });
  }

  async restart(): Promise<void> {
    await this.current?.stop('SIGTERM', 20_000);
    await this.launch();
  }

  stop(): Promise<void> {
    this.stopping ??= this.teardown();
    return this.stopping;
  }

  private async teardown(): Promise<void> {
    if (this.current?.isRunning()) {
      await removeAllContainers(this.docker).catch((error) => warn('removing containers failed', error));
      await this.current.stop('SIGTERM', 20_000);
    }
    // containerd and shims run under the exec root; anything left there is ours.
    const leftovers = killPids(withDescendants(pidsWithArg(this.dir)));
    if (leftovers.length) warn(`killed leftover processes of dockerd: ${leftovers.join(' ')}`);
    await unmountUnder(this.dir);
    if (this.bridge) await deleteBridge(this.bridge.name);
    const rm = await execa('rm', ['-rf', this.dir], { reject: false });
    if (rm.exitCode !== 0) warn(`could not remove ${this.dir}: ${rm.stderr}`);
    this.forgetExitCleanup();
  }
}

/** dockerd bind-mounts its data root (and containers' layers) inside the temp dir. */
async function unmountUnder(dir: string): Promise<void> {
  for (const mountPoint of mountsUnder(dir)) await execa('umount', ['-l', mountPoint], { reject: false });
}

function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => mountPoint.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length); // deepest first
}

/**
 * The run ended without teardown (crash, process.exit): synchronous best effort. Containers are
 * removed through the still-running dockerd so their processes do not outlive it.
 */
function emergencyCleanup(dir: string, bridgeName: string | undefined, socketPath: string): void {
  console.error(`[harness] exiting without teardown: removing test dockerd in ${dir}`);
  const docker = ['-H', `unix://${socketPath}`];
  const ids = execSync('/usr/bin/docker', [...docker, 'ps', '-aq'])
    .split('\n')
    .filter(Boolean);
  if (ids.length) execSync('/usr/bin/docker', [...docker, 'rm', '-f', ...ids]);
  killPids(withDescendants(pidsWithArg(dir)));
  if (bridgeName) deleteBridgeSync(bridgeName);
  for (const mountPoint of mountsUnder(dir)) execSync('umount', ['-l', mountPoint]);
  execSync('rm', ['-rf', dir]);
}

function execSync(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

function warn(message: string, error?: unknown): void {
  console.warn(`[harness] ${message}${error ? `: ${error instanceof Error ? error.message : String(error)}` : ''}`);
}
