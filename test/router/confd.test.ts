// confd-style targets in the real router: TOML template resources in a watched confdir and
// `kind: file` targets, over arbitrary etcd keys (outside /fabric), with check and reload
// commands that really run, and a hung reload that is killed at its timeout.
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { KeyWatch } from '../../lb/confd/keys.js';
import { replaceFile } from '../harness/index.js';
import { endpoint, etcdClient, putEndpoint, type RunningRouter, startRouterWithConfig, TcpProxy, useRouterSuite, waitFor } from './support.js';

const suite = useRouterSuite({ router: false });

let counter = 0;
/** A key root of this test's own, so tests never see each other's keys. */
function keyRoot(): string {
  return `/app-${process.pid}-${++counter}`;
}

async function put(key: string, value: string): Promise<void> {
  await suite.client.put(key).value(value).exec();
}

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function lines(file: string): string[] {
  return (read(file) ?? '').split('\n').filter(Boolean);
}

async function waitContent(file: string, expected: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(() => read(file) === expected, { timeoutMs, what: `${file} to read ${JSON.stringify(expected)} (now ${JSON.stringify(read(file))})` });
}

async function targetStatus(router: RunningRouter, name: string): Promise<any> {
  const status = await router.status();
  return status.targets.find((t: any) => t.name === name);
}

/** A confd confdir (conf.d/ + templates/) and an output directory, in a fresh temp dir. */
function confdir(): { root: string; confd: string; templates: string; out: string } {
  const root = suite.perTest.tempDir('fabric-confd-');
  const dirs = { root, confd: path.join(root, 'conf.d'), templates: path.join(root, 'templates'), out: path.join(root, 'out') };
  for (const dir of [dirs.confd, dirs.templates, dirs.out]) fs.mkdirSync(dir);
  return dirs;
}

/** `key = value` lines of a confd resource file. */
function toml(fields: Record<string, string | string[]>): string {
  const value = (v: string | string[]) => (Array.isArray(v) ? `[${v.map((x) => JSON.stringify(x)).join(', ')}]` : JSON.stringify(v));
  return `[template]\n${Object.entries(fields)
    .map(([k, v]) => `${k} = ${value(v)}`)
    .join('\n')}\n`;
}

/** Pids of processes whose command line is exactly `argv`. */
function processesRunning(argv: string[]): number[] {
  const want = argv.join('\0');
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0$/, '') === want) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe('confd template resources (confdir)', () => {
  it('renders over arbitrary keys, checks the staged file, reloads; follows key, template and resource changes without a restart', async () => {
    const root = keyRoot();
    const dirs = confdir();
    const dest = path.join(dirs.out, 'app.conf');
    const checks = path.join(dirs.root, 'checks.log');
    const reloads = path.join(dirs.root, 'reloads.log');
    await put(`${root}/config/db/url`, 'db1.example.com');
    await put(`${root}/config/db/user`, 'rob');
    await put(`${root}/config/unrelated`, 'not watched');
    fs.writeFileSync(path.join(dirs.templates, 'app.conf.tmpl'), 'url={{getv "/db/url"}}\nuser={{getv "/db/user"}}\n');
    fs.writeFileSync(
      path.join(dirs.confd, 'app.toml'),
      toml({
        src: 'app.conf.tmpl',
        dest,
        prefix: `${root}/config`,
        keys: ['/db'],
        mode: '0640',
        check_cmd: `grep -q '^url=db' {{.src}} && echo {{.src}} >> ${checks}`,
        reload_cmd: `echo reloaded >> ${reloads}`,
      }),
    );

    const router = await startRouterWithConfig(suite.perTest, suite.etcd, { confdir: dirs.root });
    await waitContent(dest, 'url=db1.example.com\nuser=rob\n');
    expect(fs.statSync(dest).mode & 0o777).toBe(0o640);
    // The check ran on a staged file next to the destination, never on the destination itself.
    const checked = lines(checks);
    expect(checked).toHaveLength(1);
    expect(path.dirname(checked[0]!)).toBe(dirs.out);
    expect(checked[0]).not.toBe(dest);
    expect(path.basename(checked[0]!)).toMatch(/^\.app\.conf\..*\.stage$/);
    expect(lines(reloads)).toEqual(['reloaded']);

    // A key change: render, check, reload once more.
    await put(`${root}/config/db/url`, 'db2.example.com');
    await waitContent(dest, 'url=db2.example.com\nuser=rob\n');
    await waitFor(() => lines(reloads).length === 2, { what: 'second reload' });

    // An edited template re-renders without a restart.
    fs.writeFileSync(path.join(dirs.templates, 'app.conf.tmpl'), 'database={{getv "/db/url"}} as {{getv "/db/user"}}\nurl=db\n');
    await waitContent(dest, 'database=db2.example.com as rob\nurl=db\n');
    await waitFor(() => lines(reloads).length === 3, { what: 'reload after the template edit' });

    // A second resource file is picked up.
    const second = path.join(dirs.out, 'second.conf');
    await put(`${root}/other/name`, 'first');
    fs.writeFileSync(path.join(dirs.templates, 'second.tmpl'), 'name={{getv "/name"}}\n');
    fs.writeFileSync(path.join(dirs.confd, 'second.toml'), toml({ src: 'second.tmpl', dest: second, prefix: `${root}/other`, keys: ['/name'] }));
    await waitContent(second, 'name=first\n');
    await put(`${root}/other/name`, 'second');
    await waitContent(second, 'name=second\n');

    // Removed: no longer managed, and its file is left as it was.
    fs.rmSync(path.join(dirs.confd, 'second.toml'));
    // The directory watch notices the removal on its own time: a key put before that would still render it.
    await waitFor(() => router.proc.output().includes('resource removed; its file is no longer managed'), { what: 'the removal noticed' });
    await put(`${root}/other/name`, 'third');
    // A change to the first resource after both: once it shows, 'third' was seen and not rendered.
    await put(`${root}/config/db/user`, 'ann');
    await waitContent(dest, 'database=db2.example.com as ann\nurl=db\n');
    expect(read(second)).toBe('name=second\n');

    expect(router.proc.isRunning()).toBe(true);
    const status = await targetStatus(router, 'confd');
    expect(status).toMatchObject({ kind: 'confd', state: 'applied' });
    expect(status.lastError).toBeUndefined();
    expect(await router.isReady()).toBe(true);
  });

  it('kills a hung reload command at the timeout and reports it in /v1/status', async () => {
    const root = keyRoot();
    const dirs = confdir();
    const dest = path.join(dirs.out, 'hung.conf');
    const hung = ['sleep', `60.${process.pid}`]; // unique, so the test finds only its own
    await put(`${root}/value`, 'one');
    fs.writeFileSync(path.join(dirs.templates, 'hung.tmpl'), 'value={{getv "/value"}}\n');
    fs.writeFileSync(
      path.join(dirs.confd, 'hung.toml'),
      toml({ src: 'hung.tmpl', dest, prefix: root, keys: ['/value'], reload_cmd: `${hung.join(' ')}; echo never`, command_timeout: '1s' }),
    );
    const router = await startRouterWithConfig(suite.perTest, suite.etcd, { confdir: path.join(dirs.root, 'conf.d') }, { waitReady: false });

    const error = await waitFor(async () => (await targetStatus(router, 'confd'))?.lastError, { timeoutMs: 15_000, what: 'confd lastError' });
    expect(error.code).toBe('FABRIC_ERR_COMMAND_TIMEOUT');
    expect(error.message).toContain('hung.toml');
    expect(error.message).toMatch(/killed after 1000 ms/);
    // The file itself was swapped in before the reload: only the reload failed.
    expect(read(dest)).toBe('value=one\n');
    expect((await router.get('/readyz')).status).toBe(503);

    // The router retries the reload; each attempt dies at its deadline, sleep and all.
    const pid = (await waitFor(() => processesRunning(hung)[0], { timeoutMs: 15_000, what: 'a retried reload running' }))!;
    await waitFor(() => !processesRunning(hung).includes(pid), { timeoutMs: 5_000, what: `reload ${pid} killed at its timeout` });

    await router.stop();
    await waitFor(() => processesRunning(hung).length === 0, { timeoutMs: 5_000, what: 'no reload left behind by the router' });
  });
});

describe('kind: file target', () => {
  it('renders the model and arbitrary keys, checks, reloads; a refused check or a missing key leaves the file', async () => {
    const root = keyRoot();
    const dirs = confdir();
    const template = path.join(dirs.templates, 'file.hbs');
    const dest = path.join(dirs.out, 'file.conf');
    const reloads = path.join(dirs.root, 'reloads.log');
    replaceFile(template, 'color={{getv "/color"}}\nservices={{#each services}}{{name}}:{{endpoints.length}} {{/each}}\n');
    await put(`${root}/color`, 'blue');
    const router = await startRouterWithConfig(suite.perTest, suite.etcd, {
      targets: [
        {
          kind: 'file',
          name: 'app-file',
          template,
          dest,
          prefix: root,
          keys: ['/color'],
          check: "grep -q '^color=[a-z]' {{src}}",
          reload: `echo reloaded >> ${reloads}`,
          mode: '0600',
          commandTimeout: '5s',
        },
      ],
    });
    await waitContent(dest, 'color=blue\nservices=\n');
    expect(fs.statSync(dest).mode & 0o777).toBe(0o600);
    expect(lines(reloads)).toEqual(['reloaded']);

    // The fabric model is in the view too.
    const web = `web${counter}`;
    await putEndpoint(suite.client, endpoint({ service: web, port: 8080 }));
    await waitContent(dest, `color=blue\nservices=${web}:1 \n`);
    await put(`${root}/color`, 'green');
    await waitContent(dest, `color=green\nservices=${web}:1 \n`);
    await waitFor(() => lines(reloads).length === 3, { what: 'a reload per change' });

    // The check refuses the staged file: the destination stays, the error shows.
    await put(`${root}/color`, '123');
    const refused = await waitFor(async () => (await targetStatus(router, 'app-file'))?.lastError, { what: 'app-file lastError' });
    expect(refused.code).toBe('FABRIC_ERR_VALIDATE');
    expect(read(dest)).toBe(`color=green\nservices=${web}:1 \n`);

    // A missing key is named, and never makes a half-empty file.
    await suite.client.delete().key(`${root}/color`).exec();
    const missing = await waitFor(
      async () => {
        const e = (await targetStatus(router, 'app-file'))?.lastError;
        return e?.code === 'FABRIC_ERR_MISSING_KEY' && e;
      },
      { what: 'FABRIC_ERR_MISSING_KEY' },
    );
    expect(missing.message).toContain('/color');
    expect(missing.message).toContain(`${root}/color`);
    expect(read(dest)).toBe(`color=green\nservices=${web}:1 \n`);

    // Back to good.
    await put(`${root}/color`, 'red');
    await waitContent(dest, `color=red\nservices=${web}:1 \n`);
    await waitFor(async () => !(await targetStatus(router, 'app-file')).lastError, { what: 'lastError cleared' });
    expect(lines(reloads)).toHaveLength(4);
  });
});

describe('KeyWatch: arbitrary prefixes, followed', () => {
  it('lists again when etcd compacted past its revision while it was cut off', async () => {
    const root = keyRoot();
    const proxy = await TcpProxy.start(suite.perTest, suite.etcd.clientPort);
    let changes = 0;
    const logs: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(line) });
    const watch = new KeyWatch(
      () => etcdClient(suite.perTest, proxy.url),
      [`${root}/a`, `${root}/b`, `${root}/a/sub`],
      logger,
      () => changes++,
    );
    suite.perTest.defer(() => watch.close());
    await put(`${root}/a/1`, 'x');
    await put(`${root}/outside`, 'not followed');
    await watch.ready(10_000);
    expect(watch.snapshot().list(root)).toEqual([[`${root}/a/1`, 'x']]);
    await put(`${root}/a/2`, 'y');
    await waitFor(() => watch.snapshot().get(`${root}/a/2`) === 'y', { what: 'a watched put' });
    await waitFor(() => watch.state === 'watching', { what: 'watching' });
    const before = changes;

    proxy.cut();
    await waitFor(() => watch.state === 'disconnected', { timeoutMs: 15_000, what: 'disconnected while cut off' });
    await put(`${root}/a/1`, 'x2');
    await suite.client.delete().key(`${root}/a/2`).exec();
    await put(`${root}/b/1`, 'z');
    for (let i = 0; i < 5; i++) await put(`${root}/filler`, String(i));
    const { header } = await suite.client.put(`${root}/filler`).value('last').exec();
    await suite.etcd.etcdctl(['compact', String(header.revision)]);

    proxy.restore();
    await waitFor(
      () => {
        const now = watch.snapshot().list(root);
        return (
          JSON.stringify(now) ===
            JSON.stringify([
              [`${root}/a/1`, 'x2'],
              [`${root}/b/1`, 'z'],
            ]) && watch.state === 'watching'
        );
      },
      { timeoutMs: 20_000, what: `the keys as etcd has them after the compaction (now ${JSON.stringify(watch.snapshot().list(root))})` },
    );
    expect(changes).toBeGreaterThan(before);
    // It got there through a new snapshot: etcd refused to resume the watch from a compacted revision.
    expect(logs.join('')).toMatch(/compacted|listing again/);
  });
});
