// `fabric status` against a real router (with HAProxy) on a real etcd: the one-shot screen, and
// `--watch` redrawing it.
import { describe, expect, it } from 'vitest';
import { CLI, startProcess, waitFor } from '../harness/index.js';
import { endpoint, putEndpoint, putRaw, startWebServers, useRouterSuite } from '../router/support.js';
import { runFabric } from './support.js';

const suite = useRouterSuite();
const CLEAR_SCREEN = '\u001b[2J\u001b[H';

describe('fabric status', () => {
  it('shows problems first, the services with ready/total, the last reload with its date, and the issues', async () => {
    const [server] = await startWebServers(suite.file, ['s0']);
    const e = endpoint({ service: 'st-web', port: server!.port });
    await putEndpoint(suite.client, e);
    // A service spec with no endpoint: a warning among the problems.
    await suite.router.waitApplied(await putRaw(suite.client, 'services/st-empty', JSON.stringify({ name: 'st-empty' })));

    const result = await runFabric(['status', '--router', suite.router.url]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^fabric router http:\/\/127\.0\.0\.1:\d+ · running · etcd watching \(revision \d+\)$/);
    expect(lines[2]).toBe('PROBLEMS (1)');
    expect(lines[3]).toMatch(/^ {2}WARNING {3}service st-empty: no endpoints$/);
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}NAME\s+READY\s+REQ\/S\s+5XX %$/));
    // req/s and 5xx % from the router's traffic figures, `-` from a router without them.
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}st-web\s+1\/1\s+(-|\d+(\.\d)?)\s+(-|\d+\.\d+%)$/));
    expect(lines.findIndex((l) => /st-empty\s+0\/0/.test(l))).toBeLessThan(lines.findIndex((l) => /st-web/.test(l)));
    expect(lines).toContainEqual(expect.stringMatching(/^LAST RELOAD {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(\d+[smhd] ago\): haproxy/));
    expect(lines).toContainEqual('HOSTS: none (no agent has registered)');
    expect(lines.at(-1)).toBe('ISSUES  0 open');
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(80);
  });

  it('shows the req/s the router counts while requests flow (when the router samples traffic)', async (ctx) => {
    if ((await suite.router.get('/v1/traffic')).status === 404) ctx.skip(); // a router without traffic sampling shows `-` (above)
    const [server] = await startWebServers(suite.perTest, ['s1']);
    await suite.router.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'st-busy', port: server!.port })));
    const row = await waitFor(
      async () => {
        for (let i = 0; i < 20; i++) await suite.router.request('st-busy.apps.test');
        const out = (await runFabric(['status', '--router', suite.router.url])).stdout;
        const line = out.split('\n').find((l) => /^ {2}st-busy\s/.test(l));
        const rate = Number(line?.trim().split(/\s+/)[2]);
        return rate > 0 ? line : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'st-busy with a req/s above 0' },
    );
    expect(row).toMatch(/^ {2}st-busy\s+1\/1\s+\d+(\.\d)?\s+0\.0%$/);
  });

  it('--watch redraws the screen (clear, then the whole screen) until stopped', async () => {
    const proc = startProcess(process.execPath, [CLI, 'status', '--watch', '--router', suite.router.url], {
      name: 'fabric-status-watch',
      env: { NO_COLOR: '1' },
    });
    try {
      await waitFor(async () => proc.output().split(CLEAR_SCREEN).length - 1 >= 2, { timeoutMs: 15_000, what: 'two frames drawn' });
      expect(proc.output()).toContain('SERVICES (');
    } finally {
      await proc.stop();
    }
  });

  it('says which router it could not reach, with a stable code', async () => {
    const result = await runFabric(['status', '--router', 'http://127.0.0.1:1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^fabric: FABRIC_ERR_ROUTER_UNAVAILABLE: http:\/\/127\.0\.0\.1:1\/v1\/status: /);
  });
});
