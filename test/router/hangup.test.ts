// `fabric router` and `fabric agent` when their output goes away and their terminal hangs up:
// logging into a closed pipe never stops them, SIGHUP is a clean shutdown (lease revoked, HAProxy
// stopped with --lb-on-exit stop), and a second signal during a slow stop kills HAProxy.
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addExitCleanup, CLI, type ExitResult, freePorts, httpGet, isRunning, ROOT, runWeb, withDescendants } from '../harness/index.js';
import { endpoint, PREFIX, putEndpoint, testDocker, useRouterSuite, waitFor, writeRouterConfig } from './support.js';

const suite = useRouterSuite({ router: false });

interface Piped {
  child: ChildProcess;
  url: string;
  exited: Promise<ExitResult>;
  output(): string;
  /** Closes the test's end of stdout and stderr: every later write fails (EPIPE). */
  closeOutput(): void;
}

/** `fabric <args>` with its output on pipes the test can close; SIGKILLed after the file. */
function launch(args: string[], listen: string): Piped {
  const child = spawn(process.execPath, [CLI, ...args, '--listen', listen, '--log-level', 'debug'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (text += c.toString()));
  const exited = new Promise<ExitResult>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const kill = () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
  const remove = addExitCleanup(kill);
  suite.perTest.defer(async () => {
    kill();
    await exited;
    remove();
  });
  return {
    child,
    url: `http://${listen}`,
    exited,
    output: () => text,
    closeOutput: () => {
      child.stdout!.destroy();
      child.stderr!.destroy();
    },
  };
}

async function ready(p: Piped): Promise<void> {
  await waitFor(async () => (await fetch(`${p.url}/readyz`)).status === 200, { timeoutMs: 20_000, what: `${p.url}/readyz 200` });
}

async function exitOf(p: Piped, timeoutMs = 20_000): Promise<ExitResult> {
  let result: ExitResult | undefined;
  void p.exited.then((r) => (result = r));
  return waitFor(() => result, { timeoutMs, intervalMs: 100, what: 'the process to exit' });
}

/** A router with one managed HAProxy that stops with it. */
async function launchRouter(): Promise<{ router: Piped; httpPort: number }> {
  const [apiPort, httpPort] = (await freePorts(2)) as [number, number];
  const work = suite.perTest.tempDir();
  const config = writeRouterConfig(work, {
    domain: 'apps.test',
    targets: [{ kind: 'haproxy', http: `127.0.0.1:${httpPort}`, dest: path.join(work, 'haproxy', 'haproxy.cfg') }],
  });
  const router = launch(['router', '--etcd', suite.etcd.endpoint, '--config', config, '--lb-on-exit', 'stop'], `127.0.0.1:${apiPort}`);
  await ready(router);
  return { router, httpPort };
}

const haproxyPids = (router: Piped) => withDescendants([router.child.pid!]).filter((p) => p !== router.child.pid);

const running = isRunning;

describe('fabric router and fabric agent, output gone and terminal hung up', () => {
  it('log into a closed pipe and go on; SIGHUP stops each cleanly: the agent revokes its lease, the router stops HAProxy', async () => {
    const { router, httpPort } = await launchRouter();
    const [agentPort] = (await freePorts(1)) as [number];
    const host = `hup-${process.pid}`;
    const agentArgs = ['agent', '--etcd', suite.etcd.endpoint, '--docker', testDocker().dockerHost, '--host-ip', '127.0.0.1', '--host-name', host];
    const agent = launch(agentArgs, `127.0.0.1:${agentPort}`);
    await ready(agent);
    const lbs = haproxyPids(router);
    expect(lbs.length).toBeGreaterThanOrEqual(1);

    router.closeOutput();
    agent.closeOutput();
    // Both log about a new container (the agent registers it, the router applies it): into the closed pipes.
    const web = await runWeb(testDocker().docker, { labels: { 'fabric.service': 'hup' }, body: 'still here' });
    suite.perTest.defer(() => web.remove());
    await waitFor(async () => (await httpGet(httpPort, 'hup.apps.test').catch(() => undefined))?.body === 'still here', {
      timeoutMs: 15_000,
      what: 'the container served after both lost their stdout',
    });
    expect([router.child.exitCode, agent.child.exitCode]).toEqual([null, null]);

    agent.child.kill('SIGHUP');
    router.child.kill('SIGHUP');
    expect(await exitOf(agent)).toEqual({ code: 0, signal: null });
    expect(await exitOf(router)).toEqual({ code: 0, signal: null });
    // Revoked, not left to expire (the TTL is 15 s): the host record is gone already.
    expect((await suite.client.get(`${PREFIX}/hosts/${host}/info`).string()) ?? null).toBeNull();
    expect(lbs.filter(running)).toEqual([]);
  });

  it('a second SIGTERM during a slow stop (--lb-on-exit stop) kills HAProxy and exits', async () => {
    const { router, httpPort } = await launchRouter();
    // A backend that takes the request and never answers: HAProxy's soft stop waits for it.
    const held: net.Socket[] = [];
    const server = net.createServer((socket) => socket.once('data', () => held.push(socket)));
    const [port] = (await freePorts(1)) as [number];
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    suite.perTest.defer(() => {
      for (const s of held) s.destroy();
      server.close();
    });
    const revision = await putEndpoint(suite.client, endpoint({ service: 'slow', port }));
    await waitFor(async () => ((await (await fetch(`${router.url}/v1/status`)).json()) as { appliedRevision: number }).appliedRevision >= revision, {
      what: 'slow applied',
    });
    const pending = httpGet(httpPort, 'slow.apps.test', '/', { timeoutMs: 60_000 }).catch((err: Error) => ({ status: 0, body: err.message }));
    await waitFor(() => held.length > 0, { timeoutMs: 10_000, what: 'the request held by the slow backend' });
    const lbs = haproxyPids(router);

    router.child.kill('SIGTERM');
    await waitFor(() => /"msg":"shutting down"/.test(router.output()), { what: 'the router to begin its stop' });
    router.child.kill('SIGTERM');
    expect(await exitOf(router)).toEqual({ code: 1, signal: null });
    expect(router.output()).toMatch(/second signal \(SIGTERM\): stopping now — killing haproxy \(pid \d+\)/);
    expect(lbs.filter(running)).toEqual([]);
    expect((await pending).status).not.toBe(200);
  });
});
