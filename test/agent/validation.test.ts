// Issue 2, agent §9: a container with bad labels is not registered, the agent names it and the
// reason (log, /v1/status, /v1/endpoints), and every other container goes on.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { freePort, type RunWebOptions } from '../harness/index.js';
import { CLI, EtcdView, runCustom, runWeb, startAgent, testDocker, useAgentCleanup, useSharedEtcd, waitFor } from './support.js';

useAgentCleanup();
const sharedEtcd = useSharedEtcd();
const { docker } = testDocker();

const INJECTION = 'a.com\n  server evil 1.2.3.4:80';

interface BadCase {
  what: string;
  options: () => Promise<RunWebOptions>;
  reason: RegExp;
}

const BAD: BadCase[] = [
  { what: 'bad service name', options: async () => ({ labels: { 'fabric.service': 'Bad_Name' } }), reason: /fabric\.service/ },
  { what: 'non-numeric port', options: async () => ({ labels: { 'fabric.service': 'web', 'fabric.port': 'http' } }), reason: /fabric\.port.*"http"/ },
  {
    what: 'port not published',
    options: async () => ({ labels: { 'fabric.service': 'web', 'fabric.port': '8080' } }),
    reason: /port 8080\/tcp is not published/,
  },
  {
    what: 'no port published at all',
    options: async () => ({ labels: { 'fabric.service': 'web' }, publish: false }),
    reason: /fabric\.port is required/,
  },
  {
    what: 'missing port on a host-network container',
    options: async () => ({ labels: { 'fabric.service': 'web' }, hostNetwork: { port: await freePort() } }),
    reason: /fabric\.port is required/,
  },
  {
    what: 'config injection in a domain',
    options: async () => ({ labels: { 'fabric.service': 'web', 'fabric.domains': `ok.example.com,${INJECTION}` } }),
    reason: /fabric\.domains/,
  },
  { what: 'bad domain', options: async () => ({ labels: { 'fabric.service': 'web', 'fabric.domains': 'under_score.com' } }), reason: /fabric\.domains/ },
  { what: 'weight 300', options: async () => ({ labels: { 'fabric.service': 'web', 'fabric.weight': '300' } }), reason: /fabric\.weight.*"300"/ },
  { what: 'negative weight', options: async () => ({ labels: { 'fabric.service': 'web', 'fabric.weight': '-1' } }), reason: /fabric\.weight/ },
  { what: 'relative path', options: async () => ({ labels: { 'fabric.service': 'web', 'fabric.path': 'api' } }), reason: /fabric\.path/ },
  { what: 'bad mode', options: async () => ({ labels: { 'fabric.service': 'web', 'fabric.mode': 'udp' } }), reason: /fabric\.mode/ },
  { what: 'bad version', options: async () => ({ labels: { 'fabric.service': 'web', 'fabric.version': 'v 1;' } }), reason: /fabric\.version/ },
  {
    what: 'bad health interval',
    options: async () => ({ labels: { 'fabric.service': 'web', 'fabric.health.interval': 'often' } }),
    reason: /fabric\.health\.interval/,
  },
  {
    what: 'bad health path',
    options: async () => ({ labels: { 'fabric.service': 'web', 'fabric.health.path': '/x y' } }),
    reason: /fabric\.health\.path/,
  },
];

describe('invalid labels', () => {
  it('refuses each bad container, says which and why, and registers the good one beside them', async () => {
    const etcd = sharedEtcd();
    const good = await runWeb(docker, { labels: { 'fabric.service': 'good' } });
    const bad = await Promise.all(BAD.map(async (c) => ({ ...c, web: await runWeb(docker, await c.options()) })));
    const agent = await startAgent(etcd, { hostName: 'node-v' });
    const view = new EtcdView(etcd);

    // Only the good one (and the host key) reached etcd; the bad ones only as the host record's rejections.
    const keys = await view.keys();
    expect(keys.map((k) => k.key)).toEqual([`hosts/node-v/endpoints/good/${good.id}`, 'hosts/node-v/info']);
    const everything = JSON.stringify(keys);
    expect(everything).not.toContain('evil');
    const endpointKeys = JSON.stringify(keys.filter((k) => k.key.startsWith('endpoints/')));
    for (const { web } of bad) expect(endpointKeys).not.toContain(web.id);
    const host = (await view.host('node-v')) as { rejected?: Array<{ container: string }> } | undefined;
    expect(new Set(host?.rejected?.map((r) => r.container))).toEqual(new Set(bad.map((b) => b.web.id)));

    const status = await agent.status();
    const endpoints = await agent.endpoints();
    expect(status.registered).toBe(1);
    expect(endpoints.endpoints.map((e: { container: string }) => e.container)).toEqual([good.id]);
    expect(status.rejected).toHaveLength(BAD.length);
    expect(endpoints.rejected).toEqual(expect.arrayContaining(status.rejected));
    const logged = agent.logs().filter((l) => l.msg === 'container rejected');
    for (const { what, web, reason } of bad) {
      const rejection = status.rejected.find((r: { container: string }) => r.container === web.id);
      expect(rejection, what).toBeDefined();
      expect(rejection.name, what).toBe(web.name);
      expect(rejection.reason, what).toMatch(reason);
      const line = logged.find((l) => l.container === web.id);
      expect(line, `log line for ${what}`).toBeDefined();
      expect(line!.name).toBe(web.name);
      expect(line!.reason).toBe(rejection.reason);
    }
    expect(await agent.metric('fabric_agent_rejected_containers')).toBe(BAD.length);
    // Each is reported once, not on every pass.
    expect(new Set(logged.map((l) => l.container)).size).toBe(logged.length);
  });

  it('a bad container started while running is refused; it does not hold up a good one started with it', async () => {
    const etcd = sharedEtcd();
    const agent = await startAgent(etcd);
    const view = new EtcdView(etcd);
    const [bad, good] = await Promise.all([
      runWeb(docker, { labels: { 'fabric.service': 'web', 'fabric.domains': INJECTION } }),
      runWeb(docker, { labels: { 'fabric.service': 'web' } }),
    ]);
    await view.waitForEndpoint(good.id);
    const rejection = await waitFor(async () => (await agent.endpoints()).rejected.find((r: { container: string }) => r.container === bad.id), {
      what: 'the bad container listed as rejected',
    });
    expect(rejection).toMatchObject({ name: bad.name, reason: expect.stringMatching(/fabric\.domains/) });
    expect(await view.endpoint(bad.id)).toBeUndefined();

    // Once it is gone, it is no longer reported.
    await bad.remove();
    await waitFor(async () => (await agent.endpoints()).rejected.length === 0, { what: 'rejection cleared' });
  });

  it('more than one published port and no fabric.port: refused, naming the count', async () => {
    const etcd = sharedEtcd();
    const two = await runCustom(docker, {
      labels: { 'fabric.service': 'two' },
      cmd: ['/bin/busybox', 'httpd', '-f', '-p', '80', '-h', '/www'],
      exposed: [80, 81],
      published: [80, 81],
    });
    const chosen = await runCustom(docker, {
      labels: { 'fabric.service': 'two', 'fabric.port': '80' },
      cmd: ['/bin/busybox', 'httpd', '-f', '-p', '80', '-h', '/www'],
      exposed: [80, 81],
      published: [80, 81],
    });
    const agent = await startAgent(etcd);
    const status = await agent.status();
    expect(status.rejected).toEqual([{ container: two.id, name: two.name, reason: expect.stringMatching(/fabric\.port is required.*2 ports/) }]);
    const hostPort = Number((await chosen.container.inspect()).NetworkSettings.Ports['80/tcp']?.[0]?.HostPort);
    expect(await new EtcdView(etcd).endpoint(chosen.id)).toMatchObject({ port: hostPort, address: '127.0.0.1' });
  });

  it('container mode: a fabric.port the container does not expose is refused', async () => {
    const etcd = sharedEtcd();
    const bad = await runWeb(docker, { labels: { 'fabric.service': 'web', 'fabric.port': '8080' }, publish: false });
    const good = await runWeb(docker, { labels: { 'fabric.service': 'web', 'fabric.port': '80' }, publish: false });
    const agent = await startAgent(etcd, { addressMode: 'container' });
    expect((await agent.status()).rejected).toEqual([{ container: bad.id, name: bad.name, reason: expect.stringMatching(/port 8080\/tcp is not exposed/) }]);
    expect(await new EtcdView(etcd).endpoint(good.id)).toMatchObject({ port: 80 });
  });
});

describe('invalid command line', () => {
  it('refuses bad flags with a clear error and exit code 1', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--address-mode', 'bogus'], /addressMode/],
      [['--ttl', 'soon'], /ttl/],
      [['--ttl', '1s'], /ttl/],
      [['--host-ip', 'not-an-ip'], /hostIp/],
      [['--docker', 'http://x'], /docker/],
    ];
    const results = await Promise.all(
      cases.map(([args]) =>
        execa(process.execPath, [CLI, 'agent', '--listen', '127.0.0.1:0', '--etcd', 'http://127.0.0.1:1', ...args], {
          reject: false,
          timeout: 20_000,
        }),
      ),
    );
    cases.forEach(([args, message], i) => {
      const result = results[i]!;
      expect(result.exitCode, args.join(' ')).toBe(1);
      expect(result.stderr, args.join(' ')).toMatch(/FABRIC_ERR_CONFIG/);
      expect(result.stderr, args.join(' ')).toMatch(message);
    });
  });
});
