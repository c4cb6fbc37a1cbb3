// NginxMaster against the real nginx: start, a confirmed reload, a reload nginx refuses, stop;
// adopting an nginx left running on the same config, and stopping what cannot be adopted.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { servedVersion } from '../nginx/control.js';
import { NginxMaster } from '../nginx/master.js';
import { childPids, isNginx, processTitle } from '../nginx/procfs.js';
import { type NginxPaths, nginxPaths } from '../nginx/view.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-nginx-master-'));
const paths: NginxPaths = nginxPaths(path.join(work, 'nginx.conf'), work);
for (const dir of ['run', 'logs', 'tmp']) fs.mkdirSync(path.join(work, dir), { recursive: true });
const logger = pino({ level: 'silent' });
const masters: NginxMaster[] = [];
const cleanups: Array<() => void> = [];

afterEach(async () => {
  for (const m of masters.splice(0)) await m.stop();
  for (const fn of cleanups.splice(0)) fn();
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** A minimal config: the control server answering `version` (or 404), and an HTTP server on `port`. */
function writeConfig(version: string, port: number, control = `return 200 "${version}\\n";`): void {
  fs.writeFileSync(
    paths.config,
    `pid ${paths.pid};
error_log ${paths.errorLog} notice;
worker_processes 1;
events { worker_connections 64; }
http {
  client_body_temp_path ${paths.temp.clientBody};
  proxy_temp_path ${paths.temp.proxy};
  fastcgi_temp_path ${paths.temp.fastcgi};
  uwsgi_temp_path ${paths.temp.uwsgi};
  scgi_temp_path ${paths.temp.scgi};
  access_log off;
  server { listen unix:${paths.controlSocket}; location = /fabric/config { ${control} } }
  server { listen 127.0.0.1:${port}; return 200 "${version}"; }
}
`,
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function newMaster(log = logger): NginxMaster {
  const master = new NginxMaster({ binary: 'nginx', paths, logger: log, confirmTimeoutMs: 10_000 });
  masters.push(master);
  return master;
}

/** A logger whose warnings and errors land in `lines` (one JSON object each). */
function capturingLogger(lines: any[]) {
  return pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
}

/** Until none of `pids` is an nginx any more (at most 5 s). */
async function gone(pids: number[]): Promise<boolean> {
  const deadline = Date.now() + 5_000;
  while (pids.some(isNginx) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return !pids.some(isNginx);
}

/** Kills, at the end of the test, whatever nginx of `pids` is still alive (a test that failed half-way). */
function reap(pids: number[]): void {
  cleanups.push(() => {
    for (const pid of pids.filter(isNginx)) process.kill(pid, 'SIGKILL');
  });
}

describe('NginxMaster', () => {
  it('starts, reloads to a confirmed version, and stops with its workers', async () => {
    const port = await freePort();
    writeConfig('v1', port);
    const master = newMaster();
    expect(await master.start('v1')).toBe('v1');
    expect(master.state).toBe('running');
    const firstWorkers = childPids(master.pid!);
    expect(firstWorkers.length).toBe(1);

    writeConfig('v2', port);
    await master.reload('v2');
    // Confirmed means no old worker takes a new connection any more.
    for (let i = 0; i < 20; i++) {
      expect(await servedVersion(paths.controlSocket)).toBe('v2');
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('v2');
    }
    expect(fs.readFileSync(paths.errorLog, 'utf8')).toMatch(/reconfiguring/);

    const pid = master.pid!;
    const workers = childPids(pid);
    await master.stop();
    expect(master.state).toBe('stopped');
    for (const p of [pid, ...workers, ...firstWorkers]) expect(isNginx(p), `pid ${p}`).toBe(false);
  });

  it('fails a reload nginx refuses (a port taken by someone else) and keeps the old workers serving', async () => {
    const port = await freePort();
    writeConfig('v1', port);
    const master = newMaster();
    await master.start('v1');
    // nginx -t would pass this (it ignores "address in use"); the reload itself cannot bind.
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => squatter.close());
    writeConfig('v2', (squatter.address() as net.AddressInfo).port);
    const address = `127.0.0.1:${(squatter.address() as net.AddressInfo).port}`;
    await expect(master.reload('v2')).rejects.toMatchObject({ code: 'FABRIC_ERR_PORT_IN_USE', message: expect.stringContaining(address) });
    expect(master.state).toBe('running');
    expect(await servedVersion(paths.controlSocket)).toBe('v1');
  });

  it('reports a start that fails, and leaves nothing running', async () => {
    fs.writeFileSync(paths.config, 'events {}\nhttp { this_is_not_a_directive; }\n');
    const master = newMaster();
    await expect(master.start()).rejects.toMatchObject({ code: 'FABRIC_ERR_RELOAD', message: expect.stringMatching(/unknown directive/) });
    expect(master.pid).toBeUndefined();
  });

  it('fails a start at once when the binary does not exist', async () => {
    const master = new NginxMaster({ binary: '/nonexistent/nginx', paths, logger, confirmTimeoutMs: 10_000 });
    masters.push(master);
    const started = Date.now();
    await expect(master.start()).rejects.toMatchObject({ code: 'FABRIC_ERR_RELOAD', message: expect.stringMatching(/ENOENT/) });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('tells the owner when nginx dies under it', async () => {
    const port = await freePort();
    writeConfig('v1', port);
    const master = newMaster();
    await master.start('v1');
    const workers = childPids(master.pid!);
    const exited = new Promise<string>((resolve) => master.on('exit', resolve));
    process.kill(master.pid!, 'SIGKILL');
    expect(await exited).toMatch(/SIGKILL/);
    expect(master.state).toBe('exited');
    // The orphaned worker was asked to go; a new start finds the port free.
    const deadline = Date.now() + 5_000;
    while (workers.some(isNginx) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(workers.filter(isNginx)).toEqual([]);
    expect(await master.start('v1')).toBe('v1');
  });

  it('fails a start on an address another process holds with FABRIC_ERR_PORT_IN_USE, naming it', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => squatter.close());
    const address = `127.0.0.1:${(squatter.address() as net.AddressInfo).port}`;
    writeConfig('v1', (squatter.address() as net.AddressInfo).port);
    const master = newMaster();
    await expect(master.start('v1')).rejects.toMatchObject({ code: 'FABRIC_ERR_PORT_IN_USE', message: expect.stringContaining(address) });
    expect(master.pid).toBeUndefined();
    expect(master.state).toBe('stopped');
  });

  it('runs nginx detached: a process group of its own, its output in logs/nginx.out', async () => {
    writeConfig('v1', await freePort());
    const master = newMaster();
    await master.start('v1');
    const pid = master.pid!;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [, , pgrp, session] = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    expect([pgrp, session]).toEqual([pid, pid]);
    expect(fs.readlinkSync(`/proc/${pid}/fd/1`)).toBe(paths.output);
  });

  it('adopts a master left running on its config: the same process, supervised by pid, reloaded and stopped', async () => {
    const port = await freePort();
    writeConfig('v1', port);
    const first = newMaster();
    await first.start('v1');
    const pid = first.pid!;
    reap([pid, ...childPids(pid)]);
    await first.release();
    expect(first.state).toBe('released');
    expect(isNginx(pid)).toBe(true);

    const second = newMaster();
    expect(await second.adopt()).toBe('v1');
    expect(second).toMatchObject({ pid, adopted: true, state: 'running' });
    writeConfig('v2', port);
    await second.reload('v2');
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('v2');

    // Not its child: its death is noticed by polling, and its workers are told to go.
    const workers = childPids(pid);
    const exited = new Promise<string>((resolve) => second.on('exit', resolve));
    process.kill(pid, 'SIGKILL');
    expect(await exited).toMatch(/adopted.*gone/);
    expect(second.state).toBe('exited');
    expect(await gone(workers)).toBe(true);
  });

  it('stops a master it cannot adopt (its control server does not answer) and says why', async () => {
    writeConfig('v1', await freePort(), 'return 404;');
    const args = ['-p', `${work}/`, '-e', paths.errorLog, '-c', paths.config, '-g', 'daemon off; master_process on;'];
    fs.rmSync(paths.controlSocket, { force: true }); // left by a master killed in an earlier test
    const child = spawn('nginx', args, { detached: true, stdio: 'ignore' });
    const deadline = Date.now() + 5_000;
    while (!processTitle(child.pid!)?.startsWith('nginx: master') || childPids(child.pid!).length === 0) {
      if (Date.now() > deadline) throw new Error('nginx did not start');
      await new Promise((r) => setTimeout(r, 20));
    }
    const pids = [child.pid!, ...childPids(child.pid!)];
    reap(pids);
    const lines: any[] = [];
    const master = newMaster(capturingLogger(lines));
    expect(await master.adopt()).toBeUndefined();
    expect(master.state).toBe('stopped');
    expect(await gone(pids)).toBe(true);
    expect(lines).toContainEqual(expect.objectContaining({ code: 'FABRIC_ERR_ADOPT', reason: expect.stringMatching(/control server .* does not answer/) }));
  });

  it('stops workers left without their master, then starts afresh', async () => {
    const port = await freePort();
    writeConfig('v1', port);
    const first = newMaster();
    await first.start('v1');
    const pid = first.pid!;
    const workers = childPids(pid);
    reap([pid, ...workers]);
    await first.release();
    process.kill(pid, 'SIGKILL');
    expect(await gone([pid])).toBe(true);
    expect(workers.filter(isNginx)).toEqual(workers); // orphans, still holding the port

    const lines: any[] = [];
    const second = newMaster(capturingLogger(lines));
    expect(await second.adopt()).toBeUndefined();
    expect(await gone(workers)).toBe(true);
    expect(lines).toContainEqual(expect.objectContaining({ code: 'FABRIC_ERR_ADOPT', reason: expect.stringMatching(/without their master/) }));
    expect(await second.start('v1')).toBe('v1');
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('v1');
  });
});
