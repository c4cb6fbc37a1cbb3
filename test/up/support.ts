// `fabric up` as a child process against the harness's private dockerd: free ports, a temp data
// dir, and what it printed (the addresses it started).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, freePorts, httpGet, type ManagedProcess, startProcess, testDocker, withDescendants } from '../harness/index.js';

export const DOMAIN = 'apps.localhost';

export interface UpProcess {
  proc: ManagedProcess;
  dataDir: string;
  /** HAProxy's HTTP frontend port. */
  httpPort: number;
  /** `http://127.0.0.1:<port>` of the router's API and dashboard. */
  api: string;
  agentApi: string;
  /** What `fabric up` printed as its etcd. */
  etcd: string;
  /** Stops it (SIGINT) if still running and removes its data dir. */
  release(): Promise<void>;
}

/** Starts `fabric up` and waits (with a deadline) until it says it is up. */
export async function startUp(extraArgs: string[] = []): Promise<UpProcess> {
  const { dockerHost } = testDocker();
  const [httpPort, apiPort, agentPort] = (await freePorts(3)) as [number, number, number];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-up-test-'));
  const proc = startProcess(
    process.execPath,
    [
      CLI,
      'up',
      '--docker',
      dockerHost,
      '--data-dir',
      dataDir,
      '--http',
      `127.0.0.1:${httpPort}`,
      '--listen',
      `127.0.0.1:${apiPort}`,
      '--agent-listen',
      `127.0.0.1:${agentPort}`,
      '--host-name',
      'up-test',
      '--ttl',
      '5s',
      ...extraArgs,
    ],
    { name: 'fabric-up', env: { FABRIC_LOG_LEVEL: 'debug' } },
  );
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
  return { proc, dataDir, httpPort, api: `http://127.0.0.1:${apiPort}`, agentApi: `http://127.0.0.1:${agentPort}`, etcd, release };
}

/** The pids below `fabric up` (etcd, HAProxy master and workers), not counting itself. */
export function childPids(pid: number): number[] {
  return withDescendants([pid]).filter((p) => p !== pid);
}

/** GET through the HTTP frontend with a Host header; status and body, or the error as status 0. */
export async function getVia(port: number, host: string, pathname = '/'): Promise<{ status: number; body: string }> {
  return httpGet(port, host, pathname, { timeoutMs: 3_000 }).catch((err: Error) => ({ status: 0, body: err.message }));
}
