// `fabric agent --compat nginx-proxy,registrator,traefik` with a router on the test dockerd:
// containers carrying another tool's environment or labels (and no fabric.* label) are served
// the way that tool would serve them (host → container), and what fabric does not understand
// of them shows in every router's /v1/status, never dropped in silence.
import { beforeAll, describe, expect, it } from 'vitest';
import { launchAgent, type RunningAgent, removeAllContainers, runWeb, type WebContainer } from '../harness/index.js';
import { testDocker, useRouterSuite, waitFor } from './support.js';

const suite = useRouterSuite({ afterEach: () => removeAllContainers(testDocker().docker) });
let agent: RunningAgent;

beforeAll(async () => {
  agent = await launchAgent(suite.etcd, `compat-${process.pid}`, { extraArgs: ['--compat', 'nginx-proxy,registrator,traefik'] });
  suite.file.defer(async () => {
    await agent.stop();
  });
  await agent.waitStarted();
});

async function run(opts: { labels?: Record<string, string>; env?: Record<string, string>; body: string }): Promise<WebContainer> {
  const c = await runWeb(testDocker().docker, { labels: opts.labels ?? {}, env: opts.env, body: opts.body });
  suite.perTest.defer(() => c.remove());
  return c;
}

/** Until `host` answers with every body in `expected` (and nothing else). */
async function waitServed(host: string, expected: string[]): Promise<void> {
  await waitFor(
    async () => {
      const seen = new Set<string>();
      for (let i = 0; i < expected.length * 3; i++) {
        const res = await suite.router.request(host);
        if (res.status === 200) seen.add(res.body);
      }
      return [...seen].sort().join(',') === [...expected].sort().join(',');
    },
    { timeoutMs: 20_000, what: `${host} served by exactly ${expected.join(', ')}` },
  );
}

/** What HAProxy's frontend answers for a host and path no service claims (templates/haproxy.cfg.hbs). */
const NO_SERVICE = 'fabric: no service answers at this host\n';

interface Issue {
  code: string;
  message: string;
  container?: { host: string; id: string; name: string; reason: string };
  ignored?: string[];
}

async function issueFor(id: string, code: string): Promise<Issue> {
  return waitFor(async () => ((await suite.router.status()).issues as Issue[]).find((i) => i.code === code && i.container?.id === id), {
    timeoutMs: 20_000,
    what: `a ${code} issue for container ${id.slice(0, 12)} in the router's /v1/status`,
  });
}

describe('agent --compat: other tools\u2019 labels, served like their own tool serves them', () => {
  it('nginx-proxy: VIRTUAL_HOST (a comma list) and VIRTUAL_PORT from the environment; replicas sharing a host share it', async () => {
    const env = { VIRTUAL_HOST: 'shop.example.test, www.shop.example.test', VIRTUAL_PORT: '80', VIRTUAL_PROTO: 'http' };
    const [a] = await Promise.all([run({ env, body: 'shop-a' }), run({ env, body: 'shop-b' })]);
    await waitServed('shop.example.test', ['shop-a', 'shop-b']);
    await waitServed('www.shop.example.test', ['shop-a', 'shop-b']);
    const service = (await suite.router.get('/v1/services/shop-example-test')).json;
    expect(service.domains).toEqual(expect.arrayContaining(['shop.example.test', 'www.shop.example.test']));
    // What nginx-proxy would read and fabric does not: reported on every router, and by the agent.
    const issue = await issueFor(a!.id, 'FABRIC_ERR_COMPAT_IGNORED');
    expect(issue.ignored).toEqual(['nginx-proxy: VIRTUAL_PROTO is not mapped']);
    const own = (await agent.endpoints()).ignored.find((i: any) => i.container === a!.id);
    expect(own.ignored).toEqual(issue.ignored);
  });

  it('registrator: SERVICE_NAME, SERVICE_CHECK_HTTP and a urlprefix tag; other tags reported', async () => {
    const c = await run({
      labels: { SERVICE_NAME: 'catalog', SERVICE_TAGS: 'urlprefix-catalog.example.test/,blue' },
      env: { SERVICE_CHECK_HTTP: '/' },
      body: 'catalog-1',
    });
    await waitServed('catalog.apps.test', ['catalog-1']);
    await waitServed('catalog.example.test', ['catalog-1']);
    const service = (await suite.router.get('/v1/services/catalog')).json;
    expect(service.endpoints[0]).toMatchObject({ container: c.id });
    expect((await issueFor(c.id, 'FABRIC_ERR_COMPAT_IGNORED')).ignored).toEqual([
      'registrator: tag "blue" (fabric has no tags; only urlprefix-<host><path> is read)',
    ]);
  });

  it('traefik: a Host(…) || Host(…) rule and the service port; middlewares reported, a rule it cannot read refused', async () => {
    const c = await run({
      labels: {
        'traefik.enable': 'true',
        'traefik.http.routers.blog.rule': 'Host(`blog.example.test`) || Host(`news.example.test`)',
        'traefik.http.routers.blog.middlewares': 'auth',
        'traefik.http.services.blog.loadbalancer.server.port': '80',
      },
      body: 'blog-1',
    });
    await waitServed('blog.example.test', ['blog-1']);
    await waitServed('news.example.test', ['blog-1']);
    expect((await issueFor(c.id, 'FABRIC_ERR_COMPAT_IGNORED')).ignored).toEqual(['traefik: traefik.http.routers.blog.middlewares is not mapped']);

    // Host && PathPrefix: the host's other paths are no service's (HAProxy's own 404), the prefix goes to the container.
    await run({ labels: { 'traefik.http.routers.api.rule': '(Host(`api.example.test`)) && PathPrefix(`/v1`)' }, body: 'api-1' });
    await waitFor(async () => (await suite.router.request('api.example.test', '/v1/')).body !== NO_SERVICE, {
      timeoutMs: 20_000,
      what: 'api.example.test/v1/ routed to the container',
    });
    expect((await suite.router.request('api.example.test', '/v1/')).body).not.toBe(NO_SERVICE);
    expect((await suite.router.request('api.example.test', '/')).body).toBe(NO_SERVICE);
    expect((await suite.router.get('/v1/services/api')).json.endpoints[0]).toMatchObject({ path: '/v1', domains: ['api.example.test'] });

    const bad = await run({ labels: { 'traefik.http.routers.rx.rule': 'HostRegexp(`.+`)' }, body: 'never' });
    const refused = await issueFor(bad.id, 'FABRIC_ERR_LABEL');
    expect(refused.container!.reason).toMatch(/router rx: HostRegexp\(\) is not supported/);
    expect((await suite.router.get('/v1/services/rx')).status).toBe(404);
  });

  it('native fabric.* labels win over the other tools', async () => {
    const c = await run({
      labels: { 'fabric.service': 'native', 'traefik.http.routers.t.rule': 'Host(`traefik.example.test`)' },
      env: { VIRTUAL_HOST: 'proxy.example.test' },
      body: 'native-1',
    });
    await waitServed('native.apps.test', ['native-1']);
    expect((await suite.router.request('traefik.example.test')).status).toBe(404);
    expect((await suite.router.request('proxy.example.test')).status).toBe(404);
    expect((await issueFor(c.id, 'FABRIC_ERR_COMPAT_IGNORED')).ignored).toEqual(['traefik: labels ignored, the native fabric.* labels win']);
  });

  it('mapped hosts are claimed like fabric.domains: an older claim keeps its host', async () => {
    await run({ labels: { 'fabric.service': 'owner', 'fabric.domains': 'owned.example.test' }, body: 'owner-1' });
    await waitServed('owned.example.test', ['owner-1']);
    await run({ labels: { 'traefik.http.routers.thief.rule': 'Host(`owned.example.test`)' }, body: 'thief-1' });
    const conflict = await waitFor(
      async () => ((await suite.router.status()).issues as Issue[]).find((i) => i.code === 'FABRIC_ERR_CONFLICT' && i.message.includes('owned.example.test')),
      { timeoutMs: 20_000, what: 'the Traefik claim on owned.example.test refused' },
    );
    expect(conflict.message).toMatch(/claimed by service owner; claim by thief refused/);
    await waitServed('thief.apps.test', ['thief-1']);
    await waitServed('owned.example.test', ['owner-1']);
  });

  it('an agent started after the containers finds them on its first full sync (one inspect each for the environment)', async () => {
    const c = await run({ env: { VIRTUAL_HOST: 'early.example.test', LETSENCRYPT_HOST: 'early.example.test' }, body: 'early-1' });
    const late = await launchAgent(suite.etcd, `compat-late-${process.pid}`, { extraArgs: ['--compat', 'nginx-proxy'] });
    suite.perTest.defer(async () => {
      await late.stop();
    });
    await late.waitStarted();
    await waitFor(async () => (await late.endpoints()).endpoints.some((e: any) => e.container === c.id && e.service === 'early-example-test'), {
      timeoutMs: 20_000,
      what: 'the late agent registered the nginx-proxy container',
    });
    expect((await late.endpoints()).ignored).toContainEqual({ container: c.id, name: c.name, ignored: ['nginx-proxy: LETSENCRYPT_HOST is not mapped'] });
    await waitServed('early.example.test', ['early-1']);
    // Gone, and so is what was reported of it.
    await c.remove();
    await waitFor(async () => !((await suite.router.status()).issues as Issue[]).some((i) => i.container?.id === c.id), {
      timeoutMs: 20_000,
      what: 'no issue left for the removed container',
    });
  });
});
