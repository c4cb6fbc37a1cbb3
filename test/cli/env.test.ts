// Issue 10 §1–2 end to end: every flag is also FABRIC_<NAME> (booleans read strictly), and a
// --config file's unknown keys are refused by name. The built CLI against a real etcd (and, for
// the agent, the harness's Docker engine).
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, freePort, makeTempDir, startProcess, testDocker, waitFor } from '../harness/index.js';
import { fabric, keysUnder, runFabric, useCluster, writeTemp } from './support.js';

const cluster = useCluster();
const temp = makeTempDir('fabric-cli-env-');
afterAll(() => temp.remove());

const SERVICE = 'kind: Service\nname: web\ndomains: [www.example.com]\n';

describe('FABRIC_* variables', { timeout: 120_000 }, () => {
  it('FABRIC_DRY_RUN=1 writes nothing to etcd; FABRIC_DRY_RUN=0 is a real apply', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const file = writeTemp(temp.path, 'dry.yaml', SERVICE);
    const dry = await fabric(c, prefix, ['apply', '-f', file], undefined, { FABRIC_DRY_RUN: '1' });
    expect(dry.stderr).toBe('');
    expect(dry.stdout).toBe('service/web created (dry run)');
    expect([...(await keysUnder(c, prefix)).keys()]).toEqual([]);

    const real = await fabric(c, prefix, ['apply', '-f', file], undefined, { FABRIC_DRY_RUN: '0' });
    expect(real.stdout).toBe('service/web created');
    expect([...(await keysUnder(c, prefix)).keys()]).toEqual(['services/web']);
  });

  it('refuses a boolean variable that is neither on nor off, naming it, and writes nothing', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const file = writeTemp(temp.path, 'dry-maybe.yaml', SERVICE);
    const result = await fabric(c, prefix, ['apply', '-f', file], undefined, { FABRIC_DRY_RUN: 'perhaps' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^fabric: FABRIC_ERR_CONFIG: FABRIC_DRY_RUN="perhaps": expected /);
    expect([...(await keysUnder(c, prefix)).keys()]).toEqual([]);
  });

  it('FABRIC_FILENAME names the file to apply, FABRIC_OUTPUT the format of get', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const file = writeTemp(temp.path, 'by-env.yaml', SERVICE);
    const applied = await fabric(c, prefix, ['apply'], undefined, { FABRIC_FILENAME: file });
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toBe('service/web created');

    const got = await fabric(c, prefix, ['get', 'services'], undefined, { FABRIC_OUTPUT: 'json' });
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject([{ name: 'web', domains: ['www.example.com'] }]);
    // A flag wins over its variable.
    const table = await fabric(c, prefix, ['get', 'services', '-o', 'table'], undefined, { FABRIC_OUTPUT: 'json' });
    expect(table.stdout).toMatch(/^NAME\s/);
  });

  it('FABRIC_KEEP_LEASE=0 is off: SIGTERM revokes the lease (and =1 keeps it)', async () => {
    const c = cluster();
    const hostKeyGone = async (keepLease: string, host: string) => {
      const prefix = c.newPrefix();
      const listen = `127.0.0.1:${await freePort()}`;
      const args = [CLI, 'agent', '--etcd', c.etcd.endpoint, '--etcd-prefix', prefix, '--docker', testDocker().dockerHost];
      const agent = startProcess(process.execPath, [...args, '--host-name', host, '--host-ip', '127.0.0.1', '--listen', listen, '--ttl', '30s'], {
        name: `agent-${host}`,
        env: { FABRIC_KEEP_LEASE: keepLease },
      });
      try {
        await waitFor(async () => (await keysUnder(c, prefix)).has(`hosts/${host}/info`), { timeoutMs: 15_000, what: `hosts/${host}/info written` });
        expect(await agent.stop('SIGTERM', 12_000)).toEqual({ code: 0, signal: null });
        return !(await keysUnder(c, prefix)).has(`hosts/${host}/info`);
      } finally {
        await agent.stop('SIGKILL', 1_000);
      }
    };
    expect(await hostKeyGone('0', 'env-off')).toBe(true);
    expect(await hostKeyGone('1', 'env-on')).toBe(false);
  });
});

describe('--config files', { timeout: 60_000 }, () => {
  it('router.yaml: an unknown top-level key is refused with the closest known key', async () => {
    const config = writeTemp(temp.path, 'router.yaml', 'domain: apps.test\nvipPol: 10.200.0.0/24\ntargest: []\n');
    const result = await runFabric(['router', '--config', config, '--etcd', cluster().etcd.endpoint, '--listen', `127.0.0.1:${await freePort()}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`unknown key \`vipPol\` in ${config}; did you mean \`vipPool\`?`);
    expect(result.stderr).toContain(`unknown key \`targest\` in ${config}; did you mean \`targets\`?`);
  });

  it('router.yaml: an unknown nested key is named with its path', async () => {
    const config = writeTemp(temp.path, 'router-nested.yaml', 'targets:\n  - kind: haproxy\n    htp: 127.0.0.1:18080\ndebounce: {min: 20ms, mx: 1s}\n');
    const result = await runFabric(['render', '--once', '--noop', '--config', config, '--etcd', cluster().etcd.endpoint]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`unknown key \`targets[0].htp\` in ${config}; did you mean \`http\`?`);
    expect(result.stderr).toContain(`unknown key \`debounce.mx\` in ${config}; did you mean \`max\`?`);
  });

  it('apply, get, delete and the agent refuse keys that are none of their options', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const file = writeTemp(temp.path, 'apply-config.yaml', SERVICE);
    const config = writeTemp(temp.path, 'ctl.yaml', `etcd: ${c.etcd.endpoint}\netcdPrefx: ${prefix}\n`);
    for (const args of [['apply', '-f', file], ['get', 'services'], ['delete', 'service', 'web'], ['agent']]) {
      const result = await runFabric([...args, '--config', config]);
      expect(result.code, `fabric ${args[0]}`).toBe(1);
      expect(result.stderr, `fabric ${args[0]}`).toContain(`unknown key \`etcdPrefx\` in ${config}; did you mean \`etcdPrefix\`?`);
    }
    expect([...(await keysUnder(c, prefix)).keys()]).toEqual([]);
    // The same file with the key spelled right applies.
    const good = writeTemp(temp.path, 'ctl-good.yaml', `etcd: ${c.etcd.endpoint}\netcdPrefix: ${prefix}\ndryRun: false\n`);
    expect((await runFabric(['apply', '-f', file, '--config', good])).stdout).toBe('service/web created');
  });

  it('apply takes its file from `filename:` in --config too, and says what is missing without one', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const file = writeTemp(temp.path, 'from-config.yaml', SERVICE);
    const config = writeTemp(temp.path, 'with-filename.yaml', `etcd: ${c.etcd.endpoint}\netcdPrefix: ${prefix}\nfilename: ${file}\n`);
    expect((await runFabric(['apply', '--config', config])).stdout).toBe('service/web created');
    const none = await fabric(c, prefix, ['apply']);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe('fabric: FABRIC_ERR_CONFIG: no file to apply: give -f FILE (or FABRIC_FILENAME, or `filename:` in --config)');
  });
});
