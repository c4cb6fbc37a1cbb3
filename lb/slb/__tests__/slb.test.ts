// The SLB driver without etcd: the pure view (which endpoints, what weight, what order), and the
// target's file and command handling across a restart, over real files and a real command.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.js';
import { endpointEntry, ep, modelOf, specEntry } from '../../__tests__/fixtures.js';
import { templatePath } from '../../render.js';
import type { SyncMode } from '../../sync.js';
import { SlbTarget } from '../target.js';
import { slbViews, slbWeight } from '../view.js';

describe('slbViews', () => {
  it('lists the ready endpoints of the services naming each load balancer, sorted, weights scaled', () => {
    const model = modelOf([
      specEntry({ name: 'web', slb: 'lb-1' }),
      specEntry({ name: 'api', slb: 'lb-1' }),
      specEntry({ name: 'pay', slb: 'lb-2' }),
      specEntry({ name: 'free' }),
      endpointEntry(ep('web', 'w1', { host: 'i-b', port: 30001, weight: 256 })),
      endpointEntry(ep('web', 'w2', { host: 'i-a', port: 30002, weight: 1 })),
      endpointEntry(ep('web', 'w3', { host: 'i-a', port: 30003, state: 'draining' })),
      endpointEntry(ep('api', 'a1', { host: 'i-a', port: 30004, health: 'unhealthy' })),
      endpointEntry(ep('api', 'a2', { host: 'i-a', port: 30005, health: 'healthy', weight: 0 })),
      endpointEntry(ep('free', 'f1', { host: 'i-a', port: 30006 })),
    ]);
    const views = slbViews(model);
    expect([...views.keys()]).toEqual(['lb-1', 'lb-2']);
    expect(views.get('lb-1')!.services).toEqual(['api', 'web']);
    expect(views.get('lb-1')!.servers.map((s) => [s.serverId, s.port, s.weight, s.service])).toEqual([
      ['i-a', 30002, 1, 'web'],
      ['i-a', 30005, 0, 'api'],
      ['i-b', 30001, 100, 'web'],
    ]);
    expect(views.get('lb-2')!.servers).toEqual([]); // named, no endpoints: an empty list
  });

  it('scales 0..256 to 0..100 without turning a live weight into 0', () => {
    expect([0, 1, 2, 100, 128, 255, 256].map(slbWeight)).toEqual([0, 1, 1, 39, 50, 100, 100]);
  });
});

describe('SlbTarget', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  function setup() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-slb-unit-'));
    dirs.push(dir);
    const log = path.join(dir, 'calls.log');
    const make = (mode: SyncMode = 'normal', apply = `echo "{{slb}} $(tr -d ' \\n' < {{src}})" >> ${log}`) =>
      new SlbTarget(
        { name: 'slb', template: templatePath('templates/slb.json.hbs'), dest: path.join(dir, 'out', '{{slb}}.json'), apply, commandTimeoutMs: 5_000 },
        { logger: createLogger('silent', 'test'), mode },
      );
    const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
    return { dir, make, calls };
  }

  const withLb = modelOf([specEntry({ name: 'web', slb: 'lb-1' }), endpointEntry(ep('web', 'w1', { host: 'i-a', port: 30001 }))]);
  const withoutLb = modelOf([specEntry({ name: 'web' }), endpointEntry(ep('web', 'w1', { host: 'i-a', port: 30001 }))]);

  it('applies after a restart even when the file is unchanged (the cloud may not have it), then only on change', async () => {
    const { make, calls } = setup();
    expect(await make().apply(withLb)).toMatchObject({ action: 'reload', detail: 'applied lb-1' });
    const restarted = make();
    expect((await restarted.apply(withLb)).action).toBe('reload');
    expect((await restarted.apply(withLb)).action).toBe('none');
    expect(calls()).toHaveLength(2);
    expect(calls()[0]).toContain('"ServerId":"i-a","Port":"30001","Weight":"39","Type":"ecs"');
  });

  it('retires a load balancer a previous run left a file for: an empty list once, then the file goes', async () => {
    const { dir, make, calls } = setup();
    await make().apply(withLb);
    const restarted = make();
    expect(await restarted.apply(withoutLb)).toMatchObject({ action: 'reload', detail: 'retired lb-1' });
    expect(calls()).toEqual([expect.stringContaining('lb-1 [{'), 'lb-1 []']);
    expect(fs.existsSync(path.join(dir, 'out', 'lb-1.json'))).toBe(false);
    expect((await restarted.apply(withoutLb)).action).toBe('none');
  });

  it('noop shows the diff and writes and runs nothing; sync-only writes and runs nothing', async () => {
    const { dir, make, calls } = setup();
    const noop = await make('noop').apply(withLb);
    expect(noop.action).toBe('none');
    expect(noop.diffs?.[0]?.diff).toContain('+  {"ServerId": "i-a"');
    expect(fs.existsSync(path.join(dir, 'out', 'lb-1.json'))).toBe(false);
    expect(await make('sync-only').apply(withLb)).toMatchObject({ action: 'write', detail: 'wrote lb-1' });
    expect(fs.existsSync(path.join(dir, 'out', 'lb-1.json'))).toBe(true);
    expect(calls()).toEqual([]);
  });

  it('a command that overruns is killed and reported as retryable', async () => {
    const { dir } = setup();
    const target = new SlbTarget(
      { name: 'slb', template: templatePath('templates/slb.json.hbs'), dest: path.join(dir, '{{slb}}.json'), apply: 'sleep 5', commandTimeoutMs: 200 },
      { logger: createLogger('silent', 'test'), mode: 'normal' },
    );
    await expect(target.apply(withLb)).rejects.toMatchObject({ code: 'FABRIC_ERR_COMMAND_TIMEOUT', retryable: true, details: { failed: ['lb-1'] } });
  });
});
