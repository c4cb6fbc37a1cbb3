// `fabric render`: confd's -onetime, -noop and -sync-only over the configured targets, run as the
// real command line against a real etcd. The exit status, what it prints, and what is (not) on disk.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { replaceFile } from '../harness/index.js';
import { CLI, DOMAIN, endpoint, putEndpoint, useRouterSuite } from './support.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const suite = useRouterSuite({ router: false });

interface RenderRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `fabric render --config <router.yaml> ARGS`, to its exit (killed after 30 s). */
function render(config: Record<string, unknown>, args: string[]): Promise<RenderRun> {
  const dir = suite.file.tempDir('fabric-render-');
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

let counter = 0;

/** A `kind: file` target over its own keys, with check and reload commands that leave marks. */
function setup(template: string) {
  const dir = suite.file.tempDir('fabric-render-work-');
  const root = `/render-${process.pid}-${++counter}`;
  const paths = {
    dir,
    root,
    template: path.join(dir, 'app.hbs'),
    dest: path.join(dir, 'out', 'app.conf'),
    checks: path.join(dir, 'checks.log'),
    reloads: path.join(dir, 'reloads.log'),
  };
  fs.writeFileSync(paths.template, template);
  const target = {
    kind: 'file',
    name: 'app',
    template: paths.template,
    dest: paths.dest,
    prefix: root,
    keys: ['/'],
    check: `echo {{src}} >> ${paths.checks}`,
    reload: `echo reloaded >> ${paths.reloads}`,
  };
  return { ...paths, config: { targets: [target] } };
}

function read(path: string): string | undefined {
  return fs.existsSync(path) ? fs.readFileSync(path, 'utf8') : undefined;
}

describe('fabric render --once', () => {
  it('renders, checks and reloads, then exits 0', async () => {
    const s = setup('greeting={{getv "/greeting"}}\n');
    await suite.client.put(`${s.root}/greeting`).value('hello').exec();
    const run = await render(s.config, ['--once']);
    expect(run.stderr).toBe('');
    expect(run.code, run.stderr).toBe(0);
    expect(read(s.dest)).toBe('greeting=hello\n');
    expect(read(s.checks)).toMatch(/\.app\.conf\..*\.stage\n$/);
    expect(read(s.reloads)).toBe('reloaded\n');
    expect(run.stdout).toContain('app: reload');

    // Nothing changed: nothing written, nothing reloaded.
    const again = await render(s.config, ['--once']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('app: no change');
    expect(read(s.reloads)).toBe('reloaded\n');
  });

  it('exits non-zero on a bad template, naming it; the destination is not created', async () => {
    const s = setup('greeting={{#if}}\n');
    const run = await render(s.config, ['--once']);
    expect(run.code, run.stdout).not.toBe(0);
    expect(run.stderr).toMatch(/fabric render: app: FABRIC_ERR_RENDER: .*app\.hbs/);
    expect(fs.existsSync(s.dest)).toBe(false);
    expect(read(s.checks)).toBeUndefined();
  });

  it('exits non-zero on a missing key, naming the key; the destination stays as it was', async () => {
    const s = setup('greeting={{getv "/greeting"}}\nname={{getv "/name"}}\n');
    await suite.client.put(`${s.root}/greeting`).value('hello').exec();
    fs.mkdirSync(path.dirname(s.dest), { recursive: true });
    fs.writeFileSync(s.dest, 'previous\n');
    const run = await render(s.config, ['--once']);
    expect(run.code, run.stdout).not.toBe(0);
    expect(run.stderr).toMatch(/FABRIC_ERR_MISSING_KEY: .*"\/name"/);
    expect(run.stderr).toContain(`${s.root}/name`);
    expect(read(s.dest)).toBe('previous\n');
    expect(read(s.reloads)).toBeUndefined();
    // Nor was a staged file left behind.
    expect(fs.readdirSync(path.dirname(s.dest))).toEqual(['app.conf']);
  });

  it('runs a confdir’s resources too, and reports each failing one with its code', async () => {
    const s = setup('unused\n');
    const confdir = path.join(s.dir, 'confd');
    fs.mkdirSync(path.join(confdir, 'conf.d'), { recursive: true });
    fs.mkdirSync(path.join(confdir, 'templates'));
    fs.writeFileSync(path.join(confdir, 'templates', 'ok.tmpl'), 'v={{getv "/v"}}\n');
    fs.writeFileSync(path.join(confdir, 'templates', 'missing.tmpl'), 'w={{getv "/w"}}\n');
    const ok = path.join(s.dir, 'ok.conf');
    const resource = (dest: string, src: string) => `[template]\nsrc = "${src}"\ndest = "${dest}"\nprefix = "${s.root}"\nkeys = ["/"]\n`;
    fs.writeFileSync(path.join(confdir, 'conf.d', 'ok.toml'), resource(ok, 'ok.tmpl'));
    fs.writeFileSync(path.join(confdir, 'conf.d', 'missing.toml'), resource(path.join(s.dir, 'missing.conf'), 'missing.tmpl'));
    fs.writeFileSync(path.join(confdir, 'conf.d', 'broken.toml'), '[template]\nsrc = "ok.tmpl"\n');
    await suite.client.put(`${s.root}/v`).value('1').exec();
    const run = await render({ confdir }, ['--once']);
    expect(run.code, run.stdout).not.toBe(0);
    expect(read(ok)).toBe('v=1\n');
    expect(run.stderr).toMatch(/confd: FABRIC_ERR_CONFIG: .*broken\.toml: template\.dest/);
    expect(run.stderr).toMatch(/confd: FABRIC_ERR_MISSING_KEY: .*missing\.toml/);
    expect(fs.existsSync(path.join(s.dir, 'missing.conf'))).toBe(false);
  });
});

describe('fabric render --noop', () => {
  it('prints the diff and writes nothing, runs nothing', async () => {
    const s = setup('greeting={{getv "/greeting"}}\n');
    await suite.client.put(`${s.root}/greeting`).value('bonjour').exec();
    fs.mkdirSync(path.dirname(s.dest), { recursive: true });
    fs.writeFileSync(s.dest, 'greeting=hello\n');
    const run = await render(s.config, ['--noop']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`--- ${s.dest}`);
    expect(run.stdout).toContain('-greeting=hello');
    expect(run.stdout).toContain('+greeting=bonjour');
    expect(run.stdout).toContain('app: would change');
    expect(read(s.dest)).toBe('greeting=hello\n');
    expect(read(s.checks)).toBeUndefined();
    expect(read(s.reloads)).toBeUndefined();
  });

  it('shows HAProxy’s config as it would be, without writing it or starting HAProxy', async () => {
    const dir = suite.file.tempDir('fabric-render-haproxy-');
    const dest = path.join(dir, 'haproxy', 'haproxy.cfg');
    const svc = `noop${process.pid}`;
    await putEndpoint(suite.client, endpoint({ service: svc, port: 18080 }));
    const run = await render({ targets: [{ kind: 'haproxy', http: '127.0.0.1:18081', dest }] }, ['--once', '--noop']);
    expect(run.stderr).toBe('');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`+++ ${dest}`);
    expect(run.stdout).toContain(svc);
    expect(fs.existsSync(path.join(dir, 'haproxy'))).toBe(false);
  });
});

describe('fabric render --once with HAProxy', () => {
  it('validates and writes the config and runs `reload`, but never starts HAProxy', async () => {
    const dir = suite.file.tempDir('fabric-render-haproxy-');
    const dest = path.join(dir, 'haproxy', 'haproxy.cfg');
    const reloads = path.join(dir, 'reloads.log');
    await putEndpoint(suite.client, endpoint({ service: `once${process.pid}`, port: 18090 }));
    const target = { kind: 'haproxy', http: '127.0.0.1:18091', dest, manage: false, reload: `echo reloaded >> ${reloads}` };
    const run = await render({ targets: [target] }, ['--once']);
    expect(run.stderr).toBe('');
    expect(run.code, run.stderr).toBe(0);
    expect(read(dest)).toContain(`once${process.pid}`);
    expect(read(reloads)).toBe('reloaded\n');
    const managed = await render({ targets: [{ ...target, manage: true, reload: undefined }] }, ['--once']);
    expect(managed.code, managed.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, 'haproxy', 'run', 'master.sock'))).toBe(false);
  });

  it('refuses a config HAProxy rejects, and leaves the old one', async () => {
    const dir = suite.file.tempDir('fabric-render-haproxy-');
    const dest = path.join(dir, 'haproxy.cfg');
    const template = path.join(dir, 'bad.cfg.hbs');
    replaceFile(template, 'global\n  no-such-keyword here\n');
    fs.writeFileSync(dest, 'previous\n');
    const run = await render({ targets: [{ kind: 'haproxy', dest, template, manage: false }] }, ['--once']);
    expect(run.code, run.stdout).not.toBe(0);
    expect(run.stderr).toMatch(/haproxy-0: FABRIC_ERR_VALIDATE: /);
    expect(read(dest)).toBe('previous\n');
  });
});

describe('fabric render --sync-only', () => {
  it('writes the file without running check or reload', async () => {
    const s = setup('greeting={{getv "/greeting"}}\n');
    await suite.client.put(`${s.root}/greeting`).value('hej').exec();
    const run = await render(s.config, ['--once', '--sync-only']);
    expect(run.code, run.stderr).toBe(0);
    expect(read(s.dest)).toBe('greeting=hej\n');
    expect(read(s.checks)).toBeUndefined();
    expect(read(s.reloads)).toBeUndefined();
  });

  it('refuses --noop with --sync-only', async () => {
    const s = setup('x\n');
    const run = await render(s.config, ['--noop', '--sync-only']);
    expect(run.code, run.stdout).not.toBe(0);
    expect(run.stderr).toMatch(/FABRIC_ERR_CONFIG: --noop and --sync-only/);
  });
});
