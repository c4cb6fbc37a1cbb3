// The command line's promise that every flag is also FABRIC_<NAME>, and how those variables and
// the --config file are read (pure: no process is started, no etcd is needed).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { envName, option, parseBooleanVariable, parseOrThrow, resolveOptions } from '../options.js';
import { buildProgram, FLAGS_WITHOUT_VARIABLE } from '../program.js';
import { closestKey, editDistance } from '../suggest.js';

function* walk(command: Command): Generator<Command> {
  yield command;
  for (const sub of command.commands) yield* walk(sub);
}

describe('FABRIC_* variables', () => {
  it('exist for every option of every command in the tree', async () => {
    const program = await buildProgram();
    const missing: string[] = [];
    let checked = 0;
    for (const command of walk(program)) {
      for (const opt of command.options) {
        if (!opt.long || (FLAGS_WITHOUT_VARIABLE as readonly string[]).includes(opt.long)) continue;
        checked += 1;
        if (opt.envVar !== envName(opt.long)) missing.push(`fabric ${command.name()} ${opt.long} (has ${opt.envVar ?? 'none'})`);
      }
    }
    expect(checked).toBeGreaterThan(40);
    expect(missing).toEqual([]);
  });

  it('reads booleans strictly', () => {
    for (const word of ['1', 'true', 'TRUE', 'yes', 'on', ' on ']) expect(parseBooleanVariable('FABRIC_X', word)).toBe(true);
    for (const word of ['0', 'false', 'False', 'no', 'off', '']) expect(parseBooleanVariable('FABRIC_X', word)).toBe(false);
    for (const word of ['2', 'maybe', 'enabled', 'y']) {
      expect(() => parseBooleanVariable('FABRIC_KEEP_LEASE', word)).toThrow(
        /FABRIC_KEEP_LEASE=".*": expected on \(1, true, yes, on\) or off \(0, false, no, off or empty\)/,
      );
    }
  });

  it('gives a boolean flag the value its variable holds, not just "set"', async () => {
    const parse = async (env: NodeJS.ProcessEnv, argv: string[] = []) => {
      const command = commandWithEnv(env, argv);
      return resolveOptions(command, { env }).values.keepLease;
    };
    expect(await parse({ FABRIC_KEEP_LEASE: '0' })).toBe(false);
    expect(await parse({ FABRIC_KEEP_LEASE: '' })).toBe(false);
    expect(await parse({ FABRIC_KEEP_LEASE: 'yes' })).toBe(true);
    expect(await parse({})).toBe(false);
    // The flag wins over the variable.
    expect(await parse({ FABRIC_KEEP_LEASE: 'off' }, ['--keep-lease'])).toBe(true);
    await expect(parse({ FABRIC_KEEP_LEASE: 'maybe' })).rejects.toMatchObject({
      code: 'FABRIC_ERR_CONFIG',
      message: expect.stringMatching(/FABRIC_KEEP_LEASE/),
    });
  });
});

/** A command with one boolean flag, parsed with `env` as its environment. */
function commandWithEnv(env: NodeJS.ProcessEnv, argv: string[]): Command {
  const command = new Command('t').exitOverride().addOption(option('--keep-lease', 'x', false));
  const saved = process.env.FABRIC_KEEP_LEASE;
  delete process.env.FABRIC_KEEP_LEASE;
  if (env.FABRIC_KEEP_LEASE !== undefined) process.env.FABRIC_KEEP_LEASE = env.FABRIC_KEEP_LEASE;
  try {
    command.parse(argv, { from: 'user' });
  } finally {
    if (saved === undefined) delete process.env.FABRIC_KEEP_LEASE;
    else process.env.FABRIC_KEEP_LEASE = saved;
  }
  return command;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-options-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('--config files', () => {
  it('refuse a key that is no option, naming it and the closest known key', () => {
    const file = path.join(dir, 'router.yaml');
    fs.writeFileSync(file, 'etcd: http://127.0.0.1:2379\nvipPol: 10.0.0.0/24\n');
    const command = new Command('router').addOption(option('--config <file>', 'c')).addOption(option('--etcd <urls>', 'e'));
    command.parse(['--config', file], { from: 'user' });
    expect(() => resolveOptions(command, { fileKeys: ['vipPool', 'targets'] })).toThrow(`unknown key \`vipPol\` in ${file}; did you mean \`vipPool\`?`);
    expect(resolveOptions(command, { fileKeys: ['vipPol'] }).values.etcd).toBe('http://127.0.0.1:2379');
  });
});

describe('parseOrThrow', () => {
  const schema = z.object({
    targets: z.array(z.object({ kind: z.string(), http: z.string().optional() }).strict()),
    debounce: z.object({ min: z.number() }).strict().optional(),
  });

  it('names the path of an unknown nested key and the key it probably is', () => {
    expect(() => parseOrThrow(schema, { targets: [{ kind: 'haproxy' }, { kind: 'nginx', htp: ':80' }] }, 'router.yaml')).toThrow(
      'unknown key `targets[1].htp` in router.yaml; did you mean `http`?',
    );
    expect(() => parseOrThrow(schema, { targets: [], debounce: { mni: 1, min: 2, zzzzzz: 3 } }, 'router.yaml')).toThrow(
      'unknown key `debounce.mni` in router.yaml; did you mean `min`?; unknown key `debounce.zzzzzz` in router.yaml',
    );
  });
});

describe('closestKey', () => {
  it('suggests typos and other spellings of a key, not unrelated words', () => {
    expect(closestKey('targest', ['targets', 'domain'])).toBe('targets');
    expect(closestKey('etcd-prefix', ['etcd', 'etcdPrefix'])).toBe('etcdPrefix');
    expect(closestKey('color', ['targets', 'domain'])).toBeUndefined();
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});
