// The Runtime API transport (lb/haproxy/runtime.ts): server commands go `;`-joined, many to a
// line, against a real master-worker HAProxy: every command lands, an error in the middle fails
// the update without hiding it, and a reload meanwhile never leaves a call hanging.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimeOp } from '../../lb/haproxy/diff.js';
import { applyRuntimeOps } from '../../lb/haproxy/runtime.js';
import { haproxyCommand, parseShowProc } from '../../lb/haproxy/socket.js';
import { freePort } from '../harness/ports.js';
import { type ManagedProcess, startProcess } from '../harness/processes.js';
import { makeTempDir, type TempDir } from '../harness/temp.js';
import { waitFor } from '../harness/wait.js';

const SLOTS = 100;
let dir: TempDir;
let haproxy: ManagedProcess;
let admin: string;
let master: string;

beforeAll(async () => {
  dir = makeTempDir('fb-rt-');
  admin = path.join(dir.path, 'admin.sock');
  master = path.join(dir.path, 'master.sock');
  const config = path.join(dir.path, 'haproxy.cfg');
  fs.writeFileSync(
    config,
    [
      'global',
      `  stats socket ${admin} mode 600 level admin`,
      'defaults',
      '  mode http',
      '  timeout connect 1s',
      '  timeout client 5s',
      '  timeout server 5s',
      'frontend web',
      `  bind 127.0.0.1:${await freePort()}`,
      '  default_backend be',
      'backend be',
      '  balance roundrobin',
      `  server-template s 1-${SLOTS} 127.0.0.1:1 disabled`,
      '',
    ].join('\n'),
  );
  haproxy = startProcess('haproxy', ['-W', '-S', master, '-f', config], { name: 'haproxy-runtime-batch' });
  await waitFor(async () => (await haproxyCommand(admin, 'show info').catch(() => '')).includes('Pid:'), { timeoutMs: 10_000, what: 'HAProxy admin socket' });
});

afterAll(async () => {
  await haproxy?.stop('SIGUSR1', 5_000);
  dir?.remove();
});

/** `show servers state` → server name → [address, port, weight, admin state]. */
async function servers(): Promise<Map<string, { address: string; port: number; weight: number; maint: boolean }>> {
  const text = await haproxyCommand(admin, 'show servers state be');
  const out = new Map<string, { address: string; port: number; weight: number; maint: boolean }>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 19 || f[1] !== 'be') continue;
    // be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight … srv_port(18)
    out.set(f[3]!, { address: f[4]!, port: Number(f[18]), weight: Number(f[7]), maint: (Number(f[6]) & 1) === 1 });
  }
  return out;
}

function fill(server: string, port: number, weight: number): RuntimeOp[] {
  return [
    { kind: 'addr', backend: 'be', server, address: '127.0.0.2', port },
    { kind: 'weight', backend: 'be', server, weight },
    { kind: 'state', backend: 'be', server, state: 'ready' },
  ];
}

describe('Runtime API server commands, many to a line', () => {
  it(`sets all ${SLOTS} slots (${SLOTS * 3} commands, several lines) and every one lands`, async () => {
    const ops = Array.from({ length: SLOTS }, (_, i) => fill(`s${i + 1}`, 10_000 + i, 1 + (i % 200))).flat();
    const sent = await applyRuntimeOps(admin, ops, {});
    expect(sent).toBe(SLOTS * 3);
    const state = await servers();
    for (let i = 0; i < SLOTS; i++) {
      expect(state.get(`s${i + 1}`)).toEqual({ address: '127.0.0.2', port: 10_000 + i, weight: 1 + (i % 200), maint: false });
    }
  });

  it('an error in the middle fails the update and names it; HAProxy still ran the commands after it', async () => {
    const ops: RuntimeOp[] = [...fill('s1', 20_001, 7), ...fill('nosuch', 20_002, 7), ...fill('s2', 20_003, 9)];
    const failure = await applyRuntimeOps(admin, ops, {}).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 'FABRIC_ERR_RUNTIME_API' });
    expect(String((failure as Error).message)).toMatch(/no such server/i);
    const state = await servers();
    expect(state.get('s1')).toMatchObject({ port: 20_001, weight: 7, maint: false });
    // The caller reloads after a failed update; what HAProxy did meanwhile is still all applied.
    expect(state.get('s2')).toMatchObject({ port: 20_003, weight: 9, maint: false });
  });

  it('a reload while updates are sent: each call answers or fails, none hangs; afterwards updates land again', async () => {
    const before = parseShowProc(await haproxyCommand(master, 'show proc'))!;
    const rounds = Array.from({ length: 20 }, (_, r) =>
      applyRuntimeOps(admin, fill(`s${(r % SLOTS) + 1}`, 30_000 + r, 5), {}).then(
        () => 'ok' as const,
        (err: { code?: string }) => err.code,
      ),
    );
    await haproxyCommand(master, 'reload').catch(() => '');
    const outcomes = await Promise.all(rounds);
    for (const outcome of outcomes) expect(['ok', 'FABRIC_ERR_RUNTIME_API']).toContain(outcome);
    await waitFor(async () => (parseShowProc(await haproxyCommand(master, 'show proc').catch(() => ''))?.reloads ?? 0) > before.reloads, {
      timeoutMs: 10_000,
      what: 'the reload',
    });
    await waitFor(async () => (await haproxyCommand(admin, 'show info').catch(() => '')).includes('Pid:'), { timeoutMs: 10_000, what: 'the new worker' });
    await applyRuntimeOps(admin, fill('s3', 40_003, 11), {});
    expect((await servers()).get('s3')).toMatchObject({ port: 40_003, weight: 11, maint: false });
  });
});
