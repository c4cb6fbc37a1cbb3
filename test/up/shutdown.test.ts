// `fabric up` stopping whatever happens to its output and however often it is told to:
// `scripts/run.sh | tee log` then Ctrl-C closes the pipe before fabric up has even begun to stop,
// and a second Ctrl-C during a slow stop must escalate, never leave HAProxy, etcd or a container.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { Etcd3 } from 'etcd3';
import { afterEach, describe, expect, it } from 'vitest';
import { type ExitResult, freePort, httpGet, isRunning, pidsWithArg, testDocker, waitFor } from '../harness/index.js';
import { childPids, DOMAIN, type PipedUp, startUp, startUpOnPipes, startUpOnTerminal, type TerminalUp, type UpProcess } from './support.js';

const demoContainers = () => testDocker().docker.listContainers({ all: true, filters: { label: ['fabric.demo=true'] } });

const running = isRunning;

function describePid(pid: number): string {
  try {
    return `${pid}: ${fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`;
  } catch {
    return `${pid}: gone`;
  }
}

/** Everything `fabric up` ran is gone: its child processes by pid, anything naming its data dir, the demo containers. */
async function expectNothingLeft(children: number[], dataDir: string): Promise<void> {
  expect(children.filter(running).map(describePid), 'child processes left running').toEqual([]);
  expect(pidsWithArg(dataDir).filter(running).map(describePid), 'processes on the data dir').toEqual([]);
  expect(await demoContainers(), 'demo containers').toEqual([]);
}

/** How it exited, waiting at most `timeoutMs`. */
async function exitWithin(exited: Promise<ExitResult>, timeoutMs: number): Promise<ExitResult> {
  let result: ExitResult | undefined;
  void exited.then((r) => (result = r));
  return waitFor(() => result, { timeoutMs, intervalMs: 100, what: 'fabric up to exit' });
}

function logLines(file: string): Array<Record<string, any>> {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

describe('fabric up shutdown', () => {
  let piped: PipedUp | undefined;
  let up: UpProcess | undefined;
  let terminal: TerminalUp | undefined;
  afterEach(async () => {
    await piped?.release();
    await up?.release();
    await terminal?.release();
    piped = up = terminal = undefined;
  });

  it.each(['SIGINT', 'SIGHUP'] as const)(
    'stdout and stderr on a pipe that closes, then %s: it stops everything (HAProxy, etcd, the demo containers) and exits 0',
    async (signal) => {
      piped = await startUpOnPipes(['--demo']);
      expect(await demoContainers()).toHaveLength(3);
      const children = childPids(piped.pid);
      expect(children.length).toBeGreaterThanOrEqual(2); // etcd, HAProxy master (+ workers)

      // The reader goes first (tee killed by the same Ctrl-C, or the terminal gone), then the signal.
      piped.closeOutput();
      const signalled = Date.now();
      process.kill(piped.pid, signal);
      expect(await exitWithin(piped.exited, 40_000)).toEqual({ code: 0, signal: null });
      console.log(`${signal} with its output gone: everything stopped in ${Date.now() - signalled} ms`);
      await expectNothingLeft(children, piped.dataDir);

      // The stop went on unseen: its lines are in the log file.
      const log = logLines(piped.logFile);
      expect(log.some((l) => /stdout is gone/.test(l.msg) && l.reason === 'EPIPE')).toBe(true);
      expect(log.filter((l) => l.msg === 'stopping').map((l) => l.what)).toEqual(['demo containers', 'agent', 'router and HAProxy', 'etcd']);
      expect(log.some((l) => l.msg === 'output' && l.line === 'stopped.')).toBe(true);
      expect(log.some((l) => l.msg === 'shutting down' && l.signal === signal)).toBe(true);
    },
  );

  it('its terminal closes (the pty hung up: SIGHUP, then EIO on every write): it stops everything', async () => {
    terminal = await startUpOnTerminal(['--demo']);
    const children = childPids(terminal.pid);
    expect(children.length).toBeGreaterThanOrEqual(2);
    terminal.hangUp();
    await waitFor(() => !running(terminal!.pid), { timeoutMs: 40_000, what: 'fabric up to exit after the hang-up' });
    await expectNothingLeft(children, terminal.dataDir);
    const log = logLines(terminal.logFile);
    expect(log.some((l) => l.msg === 'shutting down' && l.signal === 'SIGHUP')).toBe(true);
    expect(log.some((l) => /stdout is gone/.test(l.msg) && l.reason === 'EIO')).toBe(true);
    expect(log.at(-1)).toMatchObject({ msg: 'stopped' });
  });

  it('a second SIGINT during a slow stop escalates: it says what it kills, and leaves nothing behind', async () => {
    up = await startUp(['--demo']);
    const children = childPids(up.proc.pid);

    // A backend that takes the request and never answers: HAProxy's soft stop waits for it.
    const requests: net.Socket[] = [];
    const server = net.createServer((socket) => socket.once('data', () => requests.push(socket)));
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      const client = new Etcd3({ hosts: up.etcd });
      const id = randomBytes(32).toString('hex');
      const endpoint = { service: 'slow', host: 'elsewhere', container: id, name: 'slow-1', address: '127.0.0.1', port, weight: 100, mode: 'http' };
      const put = await client
        .put(`/fabric/endpoints/slow/elsewhere/${id}`)
        .value(JSON.stringify({ ...endpoint, domains: [], health: 'none', state: 'up' }))
        .exec();
      client.close();
      const revision = Number(put.header.revision);
      await waitFor(async () => ((await (await fetch(`${up!.api}/v1/status`)).json()) as { appliedRevision: number }).appliedRevision >= revision, {
        what: 'the slow backend applied to HAProxy',
      });
      const pending = httpGet(up.httpPort, `slow.${DOMAIN}`, '/', { timeoutMs: 60_000 }).catch((err: Error) => ({ status: 0, body: err.message }));
      await waitFor(() => requests.length > 0, { timeoutMs: 10_000, what: 'the request held by the slow backend' }).catch(async (err) => {
        throw new Error(`${(err as Error).message}; the request got ${JSON.stringify(await Promise.race([pending, 'nothing yet']))}`);
      });

      process.kill(up.proc.pid, 'SIGINT');
      await up.proc.waitForLine(/stopping router and HAProxy/, 15_000);
      process.kill(up.proc.pid, 'SIGINT');
      const second = Date.now();
      const line = await up.proc.waitForLine(/second signal/, 10_000);
      expect(line).toMatch(/^second signal \(SIGINT\): stopping now — killing (.*, )?haproxy \(pid \d+\)/);
      expect(line).toMatch(/etcd \(pid \d+\)/);
      expect(await exitWithin(up.proc.exited, 20_000)).toEqual({ code: 1, signal: null });
      console.log(`second SIGINT: exited ${Date.now() - second} ms later (HAProxy would have waited up to 5 s for the held request)`);
      expect((await pending).status).not.toBe(200); // the held request was cut, never answered
      await expectNothingLeft(children, up.dataDir);
    } finally {
      for (const socket of requests) socket.destroy();
      server.close();
    }
  });
});
