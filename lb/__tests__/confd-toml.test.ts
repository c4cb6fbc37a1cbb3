// confd template resources (lb/confd/toml.ts, prefix.ts): the file format, its errors, the
// directory layout, and confd's key prefixes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FabricError } from '../../src/errors.js';
import { coveringPrefixes } from '../confd/keys.js';
import { absoluteKey, normalizePrefix, PrefixedKeyValues, watchedPrefixes } from '../confd/prefix.js';
import { confdLayout, parseResourceFile } from '../confd/toml.js';
import { MemoryKeyValues } from '../template/kv.js';

const options = { templates: '/etc/confd/templates', defaultTimeoutMs: 30_000 };

function parseError(text: string): FabricError {
  try {
    parseResourceFile('/etc/confd/conf.d/app.toml', text, options);
  } catch (err) {
    return err as FabricError;
  }
  throw new Error('expected an error');
}

describe('parseResourceFile', () => {
  it('reads every confd field', () => {
    const spec = parseResourceFile(
      '/etc/confd/conf.d/app.toml',
      `[template]
src = "app.conf.tmpl"
dest = "/etc/app/app.conf"
prefix = "app"
keys = ["/database", "/upstream/"]
mode = "0640"
uid = 0
gid = 0
check_cmd = "app -t -c {{.src}}"
reload_cmd = "systemctl reload app"
command_timeout = "2s"
`,
      options,
    );
    expect(spec).toEqual({
      origin: '/etc/confd/conf.d/app.toml',
      template: '/etc/confd/templates/app.conf.tmpl',
      engine: 'go',
      dest: '/etc/app/app.conf',
      keys: ['/database', '/upstream/'],
      prefix: '/app',
      check: 'app -t -c {{.src}}',
      reload: 'systemctl reload app',
      mode: 0o640,
      uid: 0,
      gid: 0,
      timeoutMs: 2_000,
    });
  });

  it('picks the engine by extension (.hbs Handlebars, anything else Go), unless `engine` says', () => {
    const parse = (extra: string, src = 'a.tmpl') => parseResourceFile('/c/a.toml', `[template]\nsrc = "${src}"\ndest = "/d"\n${extra}`, options).engine;
    expect(parse('')).toBe('go');
    expect(parse('', 'a.conf')).toBe('go');
    expect(parse('', 'a.conf.hbs')).toBe('handlebars');
    expect(parse('engine = "handlebars"\n')).toBe('handlebars');
    expect(parse('engine = "go"\n', 'a.hbs')).toBe('go');
    expect(() => parse('engine = "jinja"\n')).toThrow(/template\.engine/);
  });

  it('defaults: no prefix is /, no mode keeps the file’s, the router’s timeout', () => {
    const spec = parseResourceFile('/c/a.toml', '[template]\nsrc = "/abs/t.tmpl"\ndest = "/d"\nkeys = ["/k"]\n', options);
    expect(spec).toMatchObject({ prefix: '/', template: '/abs/t.tmpl', mode: undefined, timeoutMs: 30_000 });
  });

  it.each([
    ['[template]\nsrc = "a"\n', /app\.toml: template\.dest/],
    ['[template]\nsrc = "a"\ndest = "/d"\nmode = 644\n', /template\.mode: must be an octal string/],
    ['[template]\nsrc = "a"\ndest = "/d"\nmode = "0999"\n', /template\.mode: must be an octal mode/],
    ['[template]\nsrc = "a"\ndest = "/d"\nkeys = "/k"\n', /template\.keys/],
    ['[template]\nsrc = "a"\ndest = "/d"\nreload = "x"\n', /template.*reload/],
    ['[template]\nsrc = "a"\ndest = "/d"\nowner = "no-such-user-here"\n', /template\.owner: no such name "no-such-user-here"/],
    ['[template\nsrc = "a"\n', /app\.toml:1:\d+: /],
  ])('refuses %j, naming the file and the field', (text, message) => {
    const err = parseError(text);
    expect(err.code).toBe('FABRIC_ERR_CONFIG');
    expect(err.message).toContain('/etc/confd/conf.d/app.toml');
    expect(err.message).toMatch(message);
  });
});

describe('confdLayout', () => {
  it('takes confd’s confdir (with conf.d/) or the conf.d directory itself', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-confd-'));
    try {
      fs.mkdirSync(path.join(root, 'conf.d'));
      expect(confdLayout(root)).toEqual({ resources: path.join(root, 'conf.d'), templates: path.join(root, 'templates') });
      expect(confdLayout(path.join(root, 'conf.d'))).toEqual({ resources: path.join(root, 'conf.d'), templates: path.join(root, 'templates') });
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('key prefixes', () => {
  it('normalizes prefixes and joins keys as confd', () => {
    expect(normalizePrefix(undefined)).toBe('/');
    expect(normalizePrefix('app/')).toBe('/app');
    expect(absoluteKey('/app', '/db')).toBe('/app/db');
    expect(absoluteKey('/app', 'upstream/')).toBe('/app/upstream/');
    expect(absoluteKey('/', '/db')).toBe('/db');
    expect(watchedPrefixes('/app', ['/db', 'up'])).toEqual(['/app/db', '/app/up']);
  });

  it('shows a template its keys relative to the prefix, and nothing from a longer sibling', () => {
    const raw = new MemoryKeyValues([
      ['/app/db/user', 'rob'],
      ['/app/db/url', 'db.example.com'],
      ['/application/secret', 'no'],
    ]);
    const kv = new PrefixedKeyValues(raw, '/app');
    expect(kv.get('/db/user')).toBe('rob');
    expect(kv.get('db/user')).toBe('rob');
    expect(kv.list('/db/')).toEqual([
      ['/db/url', 'db.example.com'],
      ['/db/user', 'rob'],
    ]);
    expect(kv.list('').map(([k]) => k)).toEqual(['/db/url', '/db/user']);
  });

  it('follows only prefixes no other prefix covers', () => {
    expect(coveringPrefixes(['/app/config', '/app', '/other', '/app'])).toEqual(['/app', '/other']);
  });
});
