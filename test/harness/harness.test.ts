// Proves the harness itself against the real components: etcd (plain, TLS, auth), the private
// dockerd and the busybox image.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type EtcdServer,
  enableAuth,
  freePort,
  freePorts,
  killPids,
  type ManagedProcess,
  makeTempDir,
  makeTls,
  pidsWithArg,
  type RunWebOptions,
  runWeb,
  startEtcd,
  startProcess,
  type TlsMaterial,
  testDocker,
  type WebContainer,
  waitFor,
  withDescendants,
} from './index.js';

describe('waitFor and ports', () => {
  it('returns the first truthy value and names what it waited for on timeout', async () => {
    let n = 0;
    await expect(waitFor(() => ++n >= 3 && n)).resolves.toBe(3);
    await expect(waitFor(() => false, { timeoutMs: 100, what: 'the moon' })).rejects.toThrow(/the moon.*last value: false/);
    await expect(
      waitFor(
        () => {
          throw new Error('boom');
        },
        { timeoutMs: 100 },
      ),
    ).rejects.toThrow(/last error: boom/);
  });

  it('hands out distinct free loopback ports', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
    expect(await freePort()).toBeGreaterThan(0);
  });
});

describe('processes', () => {
  const started: ManagedProcess[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((p) => p.stop()));
  });

  it('captures output and stops by pid with SIGTERM', async () => {
    const proc = startProcess('/bin/sh', ['-c', 'echo hello from $0; exec sleep 1000', 'sh-test'], { name: 'sh-term' });
    started.push(proc);
    await expect(proc.waitForLine(/hello from/, 5_000)).resolves.toBe('hello from sh-test');
    expect(await proc.stop()).toEqual({ code: null, signal: 'SIGTERM' });
    expect(fs.readFileSync(proc.logFile, 'utf8')).toContain('hello from sh-test');
  });

  it('escalates to SIGKILL when SIGTERM is ignored', async () => {
    const proc = startProcess('/bin/sh', ['-c', 'trap "" TERM; echo armed; while :; do sleep 0.05; done'], { name: 'sh-stubborn' });
    started.push(proc);
    await proc.waitForLine(/armed/, 5_000);
    expect(await proc.stop('SIGTERM', 300)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await proc.stop()).toEqual({ code: null, signal: 'SIGKILL' }); // idempotent
  });

  it('finds a process by argument, with its descendants', async () => {
    const marker = `marker-${process.pid}-${Date.now()}`;
    const proc = startProcess('/bin/sh', ['-c', 'sleep 1000 & echo started; wait', marker], { name: 'sh-tree' });
    started.push(proc);
    await proc.waitForLine(/started/, 5_000);
    // Until the forked child has exec'd `sleep`, it still carries the shell's arguments, marker included.
    await waitFor(() => pidsWithArg(marker).length === 1, { what: 'the child to exec sleep' });
    expect(pidsWithArg(marker)).toEqual([proc.pid]);
    const tree = await waitFor(() => withDescendants([proc.pid]).length === 2 && withDescendants([proc.pid]));
    expect(tree[0]).toBe(proc.pid);
    killPids(tree);
    await proc.exited;
  });

  it('fails waitForLine at once when the process exits', async () => {
    const proc = startProcess('/bin/sh', ['-c', 'echo bye; exit 3'], { name: 'sh-exit' });
    started.push(proc);
    await expect(proc.waitForLine(/never/, 10_000)).rejects.toThrow(/exited with code 3/);
  });
});

describe('etcd', () => {
  const servers: EtcdServer[] = [];
  const tmp = makeTempDir('fabric-harness-test-');
  let tls: TlsMaterial;

  beforeAll(async () => {
    tls = await makeTls(path.join(tmp.path, 'tls'));
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });
  afterAll(() => tmp.remove());

  async function etcd(opts?: Parameters<typeof startEtcd>[0]): Promise<EtcdServer> {
    const server = await startEtcd(opts);
    servers.push(server);
    return server;
  }

  it('serves put/get and keeps its data across a restart on the same port', async () => {
    const server = await etcd();
    expect(server.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await server.etcdctl(['put', '/k', 'v1']);
    expect(await server.etcdctl(['get', '/k', '--print-value-only'])).toBe('v1');

    const firstPid = server.pid;
    await server.restart();
    expect(server.pid).not.toBe(firstPid);
    expect(await server.etcdctl(['get', '/k', '--print-value-only'])).toBe('v1');

    await server.kill9();
    expect(server.isRunning()).toBe(false);
    await server.start();
    expect(await server.etcdctl(['get', '/k', '--print-value-only'])).toBe('v1');

    const dataDir = server.dataDir;
    await server.stop();
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('serves TLS clients that present a certificate signed by the CA, and only those', async () => {
    const server = await etcd({ tls, clientCertAuth: true });
    expect(server.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await server.etcdctl(['put', '/tls', 'yes']);
    expect(await server.etcdctl(['get', '/tls', '--print-value-only'])).toBe('yes');

    const client = new Etcd3(server.clientOptions());
    try {
      expect(await client.get('/tls').string()).toBe('yes');
    } finally {
      client.close();
    }
    await expect(httpsWithoutClientCert(`${server.endpoint}/health`, tls.caFile)).rejects.toThrow();
  });

  it('with auth enabled, rejects anonymous requests and accepts the user', async () => {
    const server = await etcd();
    await enableAuth(server, 'fabric', 'secret');
    await expect(server.etcdctl(['get', '/x'], { user: false })).rejects.toThrow(/user name is empty|permission denied/i);
    await expect(server.etcdctl(['put', '/x', '1'], { user: 'fabric:wrong' })).rejects.toThrow(/authentication failed/i);
    await server.etcdctl(['put', '/x', '1'], { user: 'fabric:secret' });
    expect(await server.etcdctl(['get', '/x', '--print-value-only'])).toBe('1'); // as root

    const client = new Etcd3(server.clientOptions({ user: 'fabric', password: 'secret' }));
    try {
      expect(await client.get('/x').string()).toBe('1');
    } finally {
      client.close();
    }
  });
});

describe('docker', () => {
  const { docker, image } = testDocker();
  const containers: WebContainer[] = [];
  // Only what this file started: with FABRIC_TEST_DOCKER_SOCK the engine may be shared.
  afterEach(async () => {
    await Promise.all(containers.splice(0).map((c) => c.remove()));
  });
  async function web(opts: RunWebOptions): Promise<WebContainer> {
    const container = await runWeb(docker, opts);
    containers.push(container);
    return container;
  }

  it('runs a labelled web container published on 127.0.0.1', async () => {
    const site = await web({ labels: { 'fabric.service': 'web' }, body: 'hello "quoted" $body' });
    expect(site.hostPort).toBeGreaterThan(0);
    const body = await waitFor(() => fetchText(`http://127.0.0.1:${site.hostPort}/`), { what: 'web container' });
    expect(body).toBe('hello "quoted" $body');
    const info = await site.container.inspect();
    expect(info.Config.Labels['fabric.service']).toBe('web');
    expect(info.Config.Image).toBe(image);
  });

  it('runs a host-network container on its 127.0.0.1 port', async () => {
    const port = await freePort();
    const site = await web({ labels: {}, hostNetwork: { port } });
    expect(site.hostPort).toBe(port);
    expect(await waitFor(() => fetchText(`http://127.0.0.1:${port}/`), { what: 'host-network container' })).toBe('ok');
    await site.remove();
    await waitFor(async () => !(await fetchText(`http://127.0.0.1:${port}/`).catch(() => undefined)), { what: 'port closed' });
  });

  it('reports health from a healthcheck', async () => {
    const site = await web({
      labels: {},
      publish: false,
      healthcheck: { test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1/'], intervalMs: 200 },
    });
    const status = await waitFor(async () => (await site.container.inspect()).State.Health?.Status === 'healthy', {
      what: 'healthy',
    });
    expect(status).toBe(true);
  });
});

async function fetchText(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.text();
}

function httpsWithoutClientCert(url: string, caFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: fs.readFileSync(caFile), agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.setTimeout(3_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
