import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { DeferredWrite } from '../deferred-write.js';
import { HaproxyTarget } from '../haproxy/target.js';
import { packageRoot } from '../render.js';
import { endpointEntry, ep, modelOf } from './fixtures.js';

describe('DeferredWrite', () => {
  const never = () => {
    throw new Error('unexpected timer error');
  };

  it('coalesces a burst into one write of the latest job, run by flush at once', async () => {
    const writes: number[] = [];
    const deferred = new DeferredWrite({ quietMs: 60_000, maxMs: 60_000, onError: never });
    for (let i = 1; i <= 5; i++) deferred.schedule(async () => void writes.push(i));
    expect(deferred.behind).toBe(true);
    expect(writes).toEqual([]);
    await deferred.flush();
    expect(writes).toEqual([5]);
    expect(deferred.behind).toBe(false);
    await deferred.flush(); // nothing pending: nothing written again
    expect(writes).toEqual([5]);
  });

  it('writes by itself after the quiet time, and never runs two jobs at once', async () => {
    let active = 0;
    let maxActive = 0;
    const done: number[] = [];
    const deferred = new DeferredWrite({ quietMs: 1, maxMs: 5, onError: never });
    const job = (n: number) => async () => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 10));
      active -= 1;
      done.push(n);
    };
    deferred.schedule(job(1));
    await new Promise((r) => setTimeout(r, 5)); // job 1 is running now
    deferred.schedule(job(2));
    await deferred.flush(); // waits for job 1, then runs job 2
    expect(done).toEqual([1, 2]);
    expect(maxActive).toBe(1);
  });

  it('hands a failed timer write to onError; a failed flush throws', async () => {
    const errors: unknown[] = [];
    const deferred = new DeferredWrite({ quietMs: 1, maxMs: 1, onError: (err) => errors.push(err) });
    deferred.schedule(async () => {
      throw new Error('disk full');
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(errors).toHaveLength(1);
    deferred.schedule(async () => {
      throw new Error('still full');
    });
    await expect(deferred.flush()).rejects.toThrow('still full');
  });
});

/** A stand-in for HAProxy's admin socket: answers what the Runtime API answers on success, and logs the commands. */
async function fakeAdminSocket(path: string): Promise<{ server: Server; commands: string[] }> {
  const commands: string[] = [];
  const server = createServer((socket) => {
    socket.on('data', (data) => {
      const command = data.toString().trim();
      commands.push(command);
      if (command.startsWith('prepare map')) socket.end('New version created: 1\n');
      else if (command.includes(' addr ')) socket.end('IP changed from 1 to 2\n');
      else socket.end('\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { server, commands };
}

describe('HaproxyTarget: files after a runtime update', () => {
  let dir: string;
  let server: Server | undefined;
  afterEach(async () => {
    server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function setup() {
    dir = await mkdtemp(join(tmpdir(), 'fb-dw-'));
    const socket = join(dir, 'admin.sock');
    const fake = await fakeAdminSocket(socket);
    server = fake.server;
    const target = new HaproxyTarget(
      {
        name: 'haproxy',
        http: '127.0.0.1:8080',
        template: join(packageRoot(), 'templates/haproxy.cfg.hbs'),
        dest: join(dir, 'haproxy.cfg'),
        manage: false,
        binary: 'true', // `true -c -f FILE`: every config validates
        // The "reload" records what it sees on disk: a reload must never read files older than what runs.
        reload: `cat ${join(dir, 'haproxy.cfg')} ${join(dir, 'hosts.map')} > ${join(dir, 'seen-by-reload')}`,
        runtimeSocket: socket,
        hardStopAfter: '30s',
        maxconn: undefined,
        // Spare backends off: a new service reloads, which this file needs to see.
        spares: 0,
        commandTimeoutMs: 5_000,
      },
      { logger: createLogger('silent', 'test'), requestApply: () => undefined, mode: 'normal', once: false },
    );
    const files = async () => `${await readFile(join(dir, 'haproxy.cfg'), 'utf8')}${await readFile(join(dir, 'hosts.map'), 'utf8')}`;
    return { target, commands: fake.commands, files };
  }

  const web = (port: number, extra: ReturnType<typeof endpointEntry>[] = []) => modelOf([endpointEntry(ep('web', 'w1', { port })), ...extra]);

  it('a runtime update returns before the files are written; stop writes them: disk equals the last applied state', async () => {
    const { target, commands, files } = await setup();
    expect((await target.apply(web(8001))).action).toBe('reload');
    const afterReload = await files();
    expect(afterReload).toContain('10.0.0.1:8001');

    expect((await target.apply(web(8002))).action).toBe('runtime');
    expect((await target.apply(web(8003))).action).toBe('runtime');
    expect(commands.some((c) => c.includes('port 8003'))).toBe(true);
    expect(await files()).toBe(afterReload); // deferred: still the reload's files

    await target.stop('stop'); // flushes
    const onDisk = await files();
    expect(onDisk).toContain('10.0.0.1:8003');
    expect(onDisk).not.toContain('10.0.0.1:8002');
  });

  it('a reload after deferred runtime updates sees the current files, never older ones', async () => {
    const { target, files } = await setup();
    await target.apply(web(8001));
    await target.apply(web(8002)); // runtime; files pending
    // A new service: a new backend, so a reload, right behind the pending write.
    const report = await target.apply(web(8002, [endpointEntry(ep('api', 'a1', { port: 9000 }))]));
    expect(report.action).toBe('reload');
    const seen = await readFile(join(dir, 'seen-by-reload'), 'utf8');
    expect(seen).toBe(await files());
    expect(seen).toContain('10.0.0.1:8002');
    expect(seen).toContain('api.apps.test svc_api');
    await target.stop('stop');
    expect(await files()).toBe(seen); // the older pending write never lands on top of it
  });
});
