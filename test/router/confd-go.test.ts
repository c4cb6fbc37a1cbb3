// confd's Go templates in the real router and `fabric render`, over a real etcd: confd's own
// example resources from a confdir come out as the golden files Go's text/template made; a broken
// template is refused with its file, line and column while the last good file stays; a live edit
// re-renders; values are printed as they are (a newline stays a newline, as in confd).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { parseResourceFile } from '../../lb/confd/toml.js';
import { replaceFile } from '../harness/index.js';
import { CLI, DOMAIN, type RunningRouter, startRouterWithConfig, useRouterSuite, waitFor } from './support.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GOLDEN = path.join(ROOT, 'test/fixtures/go-templates');
const suite = useRouterSuite({ router: false });

let counter = 0;
function keyRoot(): string {
  return `/gotpl-${process.pid}-${++counter}`;
}

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function confdir(): { root: string; confd: string; templates: string; out: string } {
  const root = suite.perTest.tempDir('fabric-confd-go-');
  const dirs = { root, confd: path.join(root, 'conf.d'), templates: path.join(root, 'templates'), out: path.join(root, 'out') };
  for (const dir of [dirs.confd, dirs.templates, dirs.out]) fs.mkdirSync(dir);
  return dirs;
}

function resource(fields: Record<string, string | string[]>): string {
  const value = (v: string | string[]) => (Array.isArray(v) ? `[${v.map((x) => JSON.stringify(x)).join(', ')}]` : JSON.stringify(v));
  return `[template]\n${Object.entries(fields)
    .map(([k, v]) => `${k} = ${value(v)}`)
    .join('\n')}\n`;
}

async function lastError(router: RunningRouter, name = 'confd'): Promise<{ code: string; message: string } | undefined> {
  const status = await router.status();
  return status.targets.find((t: { name: string }) => t.name === name)?.lastError;
}

/** Golden cases that are whole confd resources (a resource.toml), from confd's docs, tests and real configs. */
const RESOURCE_CASES = [
  'confd-integration-basic',
  'confd-integration-prefix',
  'confd-integration-exists',
  'confd-integration-iteration',
  'confd-integration-nested',
  'confd-docs-nginx-example',
  'confd-docs-complex-example',
  'confd-docs-json-zookeeper',
  'confd-quickstart-myapp',
  'confd-quickstart-prefix',
  'prefix-keys-scope',
  'real-haproxy',
  'real-nginx',
];

describe('Go templates in a confdir', () => {
  it("renders confd's own example resources as Go's text/template does, byte for byte", async () => {
    const root = keyRoot();
    const dirs = confdir();
    const expected = new Map<string, string>();
    for (const name of RESOURCE_CASES) {
      const dir = path.join(GOLDEN, name);
      const spec = parseResourceFile(path.join(dir, 'resource.toml'), read(path.join(dir, 'resource.toml'))!, { templates: dir, defaultTimeoutMs: 1000 });
      const keys = JSON.parse(read(path.join(dir, 'keys.json'))!) as Record<string, string>;
      // Each case under a root of its own: its prefix moves below it, its keys stay relative.
      const caseRoot = `${root}/${name}`;
      for (const [key, value] of Object.entries(keys)) await suite.client.put(`${caseRoot}${key}`).value(value).exec();
      fs.copyFileSync(path.join(dir, 'template.tmpl'), path.join(dirs.templates, `${name}.tmpl`));
      const dest = path.join(dirs.out, `${name}.conf`);
      const prefix = spec.prefix === '/' ? caseRoot : `${caseRoot}${spec.prefix}`;
      fs.writeFileSync(path.join(dirs.confd, `${name}.toml`), resource({ src: `${name}.tmpl`, dest, prefix, keys: spec.keys }));
      expected.set(dest, read(path.join(dir, 'expected.out'))!);
    }
    await startRouterWithConfig(suite.perTest, suite.etcd, { confdir: dirs.root });
    for (const [dest, content] of expected) {
      await waitFor(() => read(dest) === content, { what: `${dest} as the golden file (now ${JSON.stringify(read(dest))})` });
    }
  });

  it('refuses a broken template with its file, line and column, keeps the last good file, and re-renders a fixed one', async () => {
    const root = keyRoot();
    const dirs = confdir();
    const template = path.join(dirs.templates, 'app.tmpl');
    const dest = path.join(dirs.out, 'app.conf');
    await suite.client.put(`${root}/v`).value('1').exec();
    replaceFile(template, 'value={{getv "/v"}}\n');
    fs.writeFileSync(path.join(dirs.confd, 'app.toml'), resource({ src: 'app.tmpl', dest, prefix: root, keys: ['/v'] }));
    const router = await startRouterWithConfig(suite.perTest, suite.etcd, { confdir: dirs.root });
    await waitFor(() => read(dest) === 'value=1\n', { what: 'the first render' });
    const good = fs.statSync(dest);

    const broken: Array<[string, string, RegExp]> = [
      ['unclosed action', 'value={{getv "/v"\n', /app\.tmpl:2:0: unclosed action started at \S*app\.tmpl:1$/],
      ['unknown function', 'a\nvalue={{nosuch "/v"}}\n', /app\.tmpl:2:8: function "nosuch" not defined/],
      ['wrong argument count', 'value={{getv}}\n', /app\.tmpl:1:8: executing "app\.tmpl" at <getv>: wrong number of args for getv: want at least 1 got 0/],
      ['range over a string', '{{range getv "/v"}}{{.}}{{end}}\n', /app\.tmpl:1:13: executing "app\.tmpl" at <"\/v">: range can't iterate over 1/],
    ];
    for (const [what, text, message] of broken) {
      replaceFile(template, text);
      const error = await waitFor(
        async () => {
          const e = await lastError(router);
          return e && message.test(e.message) && e;
        },
        { what: `the ${what} reported (now ${JSON.stringify(await lastError(router))})` },
      );
      expect(error.code, what).toBe('FABRIC_ERR_RENDER');
      expect(error.message).toContain(template);
      expect(read(dest), what).toBe('value=1\n');
      expect(fs.statSync(dest).mtimeMs).toBe(good.mtimeMs);
      expect(fs.readdirSync(dirs.out)).toEqual(['app.conf']);
    }

    // A missing key: its own code, the key named, the file still the last good one.
    replaceFile(template, 'value={{getv "/v"}} other={{getv "/other"}}\n');
    const missing = await waitFor(
      async () => {
        const e = await lastError(router);
        return e?.code === 'FABRIC_ERR_MISSING_KEY' && e;
      },
      { what: 'FABRIC_ERR_MISSING_KEY' },
    );
    expect(missing.message).toContain('key does not exist: /other');
    expect(missing.message).toMatch(/app\.tmpl:1:28:/);
    expect(missing.message).toContain(`${root}/other`);
    expect(read(dest)).toBe('value=1\n');

    // Fixed by a live edit: rendered at once, no restart, the error gone.
    replaceFile(template, '{{- /* fixed */ -}}\nfixed={{getv "/v" | printf "%03s"}}\n');
    await waitFor(() => read(dest) === 'fixed=001\n', { what: 'the fixed template rendered' });
    await waitFor(async () => !(await lastError(router)), { what: 'lastError cleared' });
    expect(await router.isReady()).toBe(true);
  });

  it('prints a value with a newline as it is, as confd does (and %q quotes it)', async () => {
    const root = keyRoot();
    const dirs = confdir();
    const dest = path.join(dirs.out, 'values.conf');
    await suite.client.put(`${root}/motd`).value('hello\nextra line; injected').exec();
    fs.writeFileSync(path.join(dirs.templates, 'values.tmpl'), 'motd {{getv "/motd"}}\nquoted {{printf "%q" (getv "/motd")}}\n');
    fs.writeFileSync(path.join(dirs.confd, 'values.toml'), resource({ src: 'values.tmpl', dest, prefix: root, keys: ['/motd'] }));
    await startRouterWithConfig(suite.perTest, suite.etcd, { confdir: dirs.root });
    await waitFor(() => read(dest) === 'motd hello\nextra line; injected\nquoted "hello\\nextra line; injected"\n', {
      what: `the raw value (now ${JSON.stringify(read(dest))})`,
    });
  });
});

describe('kind: file with a Go template', () => {
  it('renders the model and its keys, and re-renders when the template file is edited', async () => {
    const root = keyRoot();
    const dir = suite.perTest.tempDir('fabric-file-go-');
    const template = path.join(dir, 'app.conf.tmpl');
    const dest = path.join(dir, 'app.conf');
    await suite.client.put(`${root}/color`).value('blue').exec();
    replaceFile(template, 'color={{getv "/color"}} services={{len .services}}\n');
    await startRouterWithConfig(suite.perTest, suite.etcd, { targets: [{ kind: 'file', name: 'app', template, dest, prefix: root, keys: ['/color'] }] });
    await waitFor(() => /^color=blue services=\d+\n$/.test(read(dest) ?? ''), { what: `the first render (now ${JSON.stringify(read(dest))})` });
    replaceFile(template, '{{with getv "/color"}}colour: {{.}}{{end}}\n');
    await waitFor(() => read(dest) === 'colour: blue\n', { what: `the edited template rendered (now ${JSON.stringify(read(dest))})` });
  });
});

interface RenderRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function render(config: Record<string, unknown>, args: string[]): Promise<RenderRun> {
  const dir = suite.perTest.tempDir('fabric-render-go-');
  const configFile = path.join(dir, 'router.yaml');
  fs.writeFileSync(configFile, toYaml({ domain: DOMAIN, ...config }));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'render', '--etcd', suite.etcd.endpoint, '--config', configFile, ...args],
      { cwd: ROOT, timeout: 30_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

describe('fabric render with Go templates', () => {
  it('--once, --noop and --sync-only render a kind: file Go template; engine: handlebars overrides the extension', async () => {
    const root = keyRoot();
    const dir = suite.perTest.tempDir('fabric-render-go-work-');
    const template = path.join(dir, 'app.tmpl');
    const dest = path.join(dir, 'out', 'app.conf');
    const reloads = path.join(dir, 'reloads.log');
    replaceFile(template, '{{range gets "/servers/*"}}server {{base .Key}} {{.Value}}\n{{end}}{{len .services}} services\n');
    await suite.client.put(`${root}/servers/b`).value('10.0.0.2:80').exec();
    await suite.client.put(`${root}/servers/a`).value('10.0.0.1:80').exec();
    const target = { kind: 'file', name: 'app', template, dest, prefix: root, keys: ['/servers'], reload: `echo reloaded >> ${reloads}` };

    const noop = await render({ targets: [target] }, ['--noop']);
    expect(noop.code, noop.stderr).toBe(0);
    expect(noop.stdout).toContain('+server a 10.0.0.1:80');
    expect(fs.existsSync(dest)).toBe(false);

    const synced = await render({ targets: [target] }, ['--once', '--sync-only']);
    expect(synced.code, synced.stderr).toBe(0);
    expect(read(dest)).toMatch(/^server a 10\.0\.0\.1:80\nserver b 10\.0\.0\.2:80\n\d+ services\n$/);
    expect(read(reloads)).toBeUndefined();

    await suite.client.put(`${root}/servers/c`).value('10.0.0.3:80').exec();
    const once = await render({ targets: [target] }, ['--once']);
    expect(once.code, once.stderr).toBe(0);
    expect(read(dest)).toContain('server c 10.0.0.3:80\n');
    expect(read(reloads)).toBe('reloaded\n');

    // The same file name, rendered as Handlebars because the target says so.
    replaceFile(template, '{{#each (gets "/servers/*")}}{{Key}} {{/each}}\n');
    const hbs = await render({ targets: [{ ...target, engine: 'handlebars' }] }, ['--once', '--sync-only']);
    expect(hbs.code, hbs.stderr).toBe(0);
    expect(read(dest)).toBe('/servers/a /servers/b /servers/c \n');

    // A Go parse error: the file, line and column; nothing written.
    replaceFile(template, 'ok\n{{range gets "/servers/*"}}\n');
    const bad = await render({ targets: [target] }, ['--once']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(new RegExp(`app: FABRIC_ERR_RENDER: template ${template.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3:0: unexpected EOF`));
    expect(read(dest)).toBe('/servers/a /servers/b /servers/c \n');
  });
});
