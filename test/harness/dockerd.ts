// A private Docker engine for the whole test run: its own data root, exec root, socket and bridge,
// so tests never touch (or depend on) the machine's Docker. Started once by global-setup.ts.
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

export interface DockerEngine {
  socketPath: string;
  /** unix://<socketPath>, for DOCKER_HOST and --docker flags. */
  dockerHost: string;
  pid: number;
  bridge: TestBridge;
  /** The temp dir holding data root, exec root, pid file and socket. */
  dir: string;
  process: ManagedProcess;
  docker: Docker;
}

let engine: DockerEngine | undefined;
let forgetExitCleanup: (() => void) | undefined;

export function dockerClient(socketPath: string): Docker {
  return new Docker({ socketPath });
}

export async function startDockerd(): Promise<DockerEngine> {
  if (engine) throw new Error(`a test dockerd is already running (pid ${engine.pid})`);
  // Short path: the exec root holds unix sockets, whose paths are limited to 108 bytes.
  const dir = fs.mkdtempSync('/tmp/fd-');
  const bridge = await createTestBridge();
  const socketPath = path.join(dir, 'docker.sock');
  fs.writeFileSync(path.join(dir, 'daemon.json'), '{}\n'); // ignore /etc/docker/daemon.json
  const proc = startProcess(
    DOCKERD_BIN,
    [
      `--config-file=${dir}/daemon.json`,
      `--data-root=${dir}/root`,
      `--exec-root=${dir}/exec`,
      `--pidfile=${dir}/pid`,
      `-H=unix://${socketPath}`,
      `--bridge=${bridge.name}`,
      '--iptables=false',
      '--ip-masq=false',
    ],
    { name: 'dockerd' },
  );
  const docker = dockerClient(socketPath);
  engine = { socketPath, dockerHost: `unix://${socketPath}`, pid: proc.pid, bridge, dir, process: proc, docker };
  forgetExitCleanup = addExitCleanup(() => emergencyCleanup(dir, bridge.name, socketPath));
  try {
    await waitUntilReady(proc, () => docker.ping().then(String), { timeoutMs: 60_000, what: 'dockerd /_ping' });
  } catch (error) {
    await stopDockerd();
    throw error;
  }
  return engine;
}

/** Removes all containers, stops dockerd and whatever it left, deletes the bridge and temp dir. */
export async function stopDockerd(): Promise<void> {
  const current = engine;
  if (!current) return;
  engine = undefined;
  await removeAllContainers(current.docker).catch((error) => warn('removing containers failed', error));
  await current.process.stop('SIGTERM', 20_000);
  // containerd and shims run under the exec root; anything left there is ours.
  const leftovers = killPids(withDescendants(pidsWithArg(current.dir)));
  if (leftovers.length) warn(`killed leftover processes of dockerd: ${leftovers.join(' ')}`);
  await unmountUnder(current.dir);
  await deleteBridge(current.bridge.name);
  const rm = await execa('rm', ['-rf', current.dir], { reject: false });
  if (rm.exitCode !== 0) warn(`could not remove ${current.dir}: ${rm.stderr}`);
  forgetExitCleanup?.();
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
function emergencyCleanup(dir: string, bridgeName: string, socketPath: string): void {
  console.error(`[harness] exiting without teardown: removing test dockerd in ${dir}`);
  const docker = ['-H', `unix://${socketPath}`];
  const ids = execSync('/usr/bin/docker', [...docker, 'ps', '-aq'])
    .split('\n')
    .filter(Boolean);
  if (ids.length) execSync('/usr/bin/docker', [...docker, 'rm', '-f', ...ids]);
  killPids(withDescendants(pidsWithArg(dir)));
  deleteBridgeSync(bridgeName);
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
