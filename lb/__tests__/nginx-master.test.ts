// NginxMaster against the real nginx: start, a confirmed reload, a reload nginx refuses, stop.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { servedVersion } from '../nginx/control.js';
import { NginxMaster } from '../nginx/master.js';
import { childPids, isNginx } from '../nginx/procfs.js';
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

/** A minimal config: the control server answering `version`, and an HTTP server on `port`. */
function writeConfig(version: string, port: number): void {
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
  server { listen unix:${paths.controlSocket}; location = /fabric/config { return 200 "${version}\\n"; } }
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

function newMaster(): NginxMaster {
  const master = new NginxMaster({ binary: 'nginx', paths, logger, confirmTimeoutMs: 10_000 });
  masters.push(master);
  return master;
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
    await expect(master.reload('v2')).rejects.toMatchObject({ code: 'FABRIC_ERR_RELOAD', message: expect.stringMatching(/bind\(\).*failed/) });
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
});
