// `fabric up` as a child process against the harness's private dockerd: free ports, a temp data
// dir, and what it printed (the addresses it started).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  addExitCleanup,
  CLI,
  type ExitResult,
  freePorts,
  httpGet,
  type ManagedProcess,
  startProcess,
  testDocker,
  waitFor,
  withDescendants,
} from '../harness/index.js';

export const DOMAIN = 'apps.localhost';

export interface UpProcess {
  proc: ManagedProcess;
  dataDir: string;
  /** HAProxy's HTTP frontend port. */
  httpPort: number;
  /** HAProxy's HTTPS frontend port (--https). */
  httpsPort: number;
  /** `http://127.0.0.1:<port>` of the router's API and dashboard. */
  api: string;
  agentApi: string;
  /** What `fabric up` printed as its etcd. */
  etcd: string;
  /** Stops it (SIGINT) if still running and removes its data dir. */
  release(): Promise<void>;
}

interface UpLayout {
  dataDir: string;
  httpPort: number;
  httpsPort: number;
  apiPort: number;
  agentPort: number;
  args: string[];
}

/** Free ports, a temp data dir, and the command line of `fabric up` on the test engine. */
async function upLayout(extraArgs: string[]): Promise<UpLayout> {
  const { dockerHost } = testDocker();
  const [httpPort, apiPort, agentPort, httpsPort] = (await freePorts(4)) as [number, number, number, number];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-up-test-'));
  const args = [
    CLI,
    'up',
    '--docker',
    dockerHost,
    '--data-dir',
    dataDir,
    '--http',
    `127.0.0.1:${httpPort}`,
    '--https',
    `127.0.0.1:${httpsPort}`,
    '--listen',
    `127.0.0.1:${apiPort}`,
    '--agent-listen',
    `127.0.0.1:${agentPort}`,
    '--host-name',
    'up-test',
    '--ttl',
    '5s',
    ...extraArgs,
  ];
  return { dataDir, httpPort, httpsPort, apiPort, agentPort, args };
}

/** Starts `fabric up` and returns at once (it may still be starting, or never come up). */
export async function launchUp(extraArgs: string[] = []): Promise<UpProcess> {
  const { dataDir, httpPort, httpsPort, apiPort, agentPort, args } = await upLayout(extraArgs);
  const proc = startProcess(process.execPath, args, { name: 'fabric-up', env: { FABRIC_LOG_LEVEL: 'debug' } });
  const release = async () => {
    await proc.stop('SIGINT', 20_000);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  return { proc, dataDir, httpPort, httpsPort, api: `http://127.0.0.1:${apiPort}`, agentApi: `http://127.0.0.1:${agentPort}`, etcd: '', release };
}

/** Starts `fabric up` and waits (with a deadline) until it says it is up. */
export async function startUp(extraArgs: string[] = []): Promise<UpProcess> {
  const { dataDir, httpPort, httpsPort, apiPort, agentPort, args } = await upLayout(extraArgs);
  const proc = startProcess(process.execPath, args, { name: 'fabric-up', env: { FABRIC_LOG_LEVEL: 'debug' } });
  const release = async () => {
    await proc.stop('SIGINT', 20_000);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await proc.waitForLine(/Ctrl-C stops everything/, 90_000);
  } catch (err) {
    await release();
    throw new Error(`fabric up did not come up: ${(err as Error).message}\n${proc.lines().slice(-30).join('\n')}`);
  }
  const etcd = /^\s+etcd\s+(http:\/\/\S+)/m.exec(proc.output())?.[1] ?? '';
  return { proc, dataDir, httpPort, httpsPort, api: `http://127.0.0.1:${apiPort}`, agentApi: `http://127.0.0.1:${agentPort}`, etcd, release };
}

/** The pids below `fabric up` (etcd, HAProxy master and workers), not counting itself. */
export function childPids(pid: number): number[] {
  return withDescendants([pid]).filter((p) => p !== pid);
}

/** GET through the HTTP frontend with a Host header; status and body, or the error as status 0. */
export async function getVia(port: number, host: string, pathname = '/'): Promise<{ status: number; body: string }> {
  return httpGet(port, host, pathname, { timeoutMs: 3_000 }).catch((err: Error) => ({ status: 0, body: err.message }));
}

/**
 * `fabric up` with its stdout and stderr on pipes the test holds and can close, as `| tee` does
 * when Ctrl-C kills it first. Not the harness's ManagedProcess: that one keeps reading its pipes.
 */
export interface PipedUp {
  child: ChildProcess;
  pid: number;
  dataDir: string;
  logFile: string;
  httpPort: number;
  api: string;
  exited: Promise<ExitResult>;
  /** What it printed until its pipes were closed. */
  output(): string;
  /** Closes the test's end of both pipes: every later write of fabric up fails (EPIPE). */
  closeOutput(): void;
  /** SIGKILLs it if still running and removes its data dir. */
  release(): Promise<void>;
}

/** Starts `fabric up` on pipes and waits (with a deadline) until it says it is up. */
export async function startUpOnPipes(extraArgs: string[] = []): Promise<PipedUp> {
  const { dataDir, httpPort, apiPort, args } = await upLayout(extraArgs);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FABRIC_LOG_LEVEL: 'debug' } });
  const pid = child.pid!;
  let text = '';
  const collect = (chunk: Buffer) => (text += chunk.toString());
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<ExitResult>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let running = true;
  void exited.then(() => (running = false));
  const kill = () => {
    if (running) child.kill('SIGKILL');
  };
  const removeCleanup = addExitCleanup(kill);
  const piped: PipedUp = {
    child,
    pid,
    dataDir,
    logFile: path.join(dataDir, 'fabric.log'),
    httpPort,
    api: `http://127.0.0.1:${apiPort}`,
    exited,
    output: () => text,
    closeOutput: () => {
      child.stdout!.destroy();
      child.stderr!.destroy();
    },
    release: async () => {
      kill();
      await exited;
      removeCleanup();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  const died = new AbortController();
  void exited.then((result) => died.abort(new Error(`fabric up exited ${JSON.stringify(result)} before it was up`)));
  try {
    await waitFor(() => /Ctrl-C stops everything/.test(text), { timeoutMs: 90_000, what: 'fabric up to say it is up', signal: died.signal });
  } catch (err) {
    await piped.release();
    throw new Error(`${(err as Error).message}\n${text.split('\n').slice(-30).join('\n')}`);
  }
  return piped;
}

/** `fabric up` on a terminal of its own (a pty from util-linux `script`), which the test can hang up. */
export interface TerminalUp {
  /** fabric up's pid (a child of `script`). */
  pid: number;
  dataDir: string;
  logFile: string;
  /** What the terminal showed. */
  output(): string;
  /** Closes the terminal (SIGKILL to `script`, which holds the pty's master side): SIGHUP, then EIO on every write. */
  hangUp(): void;
  /** SIGKILLs what is still running and removes the data dir. */
  release(): Promise<void>;
}

export async function startUpOnTerminal(extraArgs: string[] = []): Promise<TerminalUp> {
  const { dataDir, args } = await upLayout(extraArgs);
  const command = [process.execPath, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  // stdin stays open (a pipe nobody writes), so `script` keeps the terminal until it is killed.
  const script = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, FABRIC_LOG_LEVEL: 'debug' } });
  let text = '';
  script.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const scriptExited = new Promise<void>((resolve) => script.once('exit', () => resolve()));
  let pid = 0;
  const kill = () => {
    for (const p of [pid, script.pid!]) {
      try {
        if (p) process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  const removeCleanup = addExitCleanup(kill);
  const up: TerminalUp = {
    get pid() {
      return pid;
    },
    dataDir,
    logFile: path.join(dataDir, 'fabric.log'),
    output: () => text,
    hangUp: () => script.kill('SIGKILL'),
    release: async () => {
      kill();
      await scriptExited;
      removeCleanup();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(() => /Ctrl-C stops everything/.test(text), { timeoutMs: 90_000, what: 'fabric up (on a terminal) to say it is up' });
    // Node itself, not the shell `script` runs it with (a shell that forks rather than execs would
    // die of the hang-up at once, while fabric up is still stopping).
    pid = withDescendants([script.pid!]).find((p) => p !== script.pid && readCmdline(p).startsWith(`${process.execPath} ${CLI}`)) ?? 0;
    if (!pid) throw new Error('no fabric up below script');
  } catch (err) {
    await up.release();
    throw new Error(`${(err as Error).message}\n${text.split('\n').slice(-30).join('\n')}`);
  }
  return up;
}

function readCmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}
