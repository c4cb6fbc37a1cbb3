import { describe, expect, it } from 'vitest';
import { effectiveLabels, parseCompatList } from '../index.js';
import { serviceNameFrom } from '../names.js';
import { mapNginxProxy } from '../nginx-proxy.js';
import { mapRegistrator } from '../registrator.js';
import { mapTraefik } from '../traefik.js';

const input = (labels: Record<string, string>, env?: Record<string, string>) => ({ name: 'shop-web-1', labels, env });

describe('nginx-proxy', () => {
  it('maps VIRTUAL_HOST, VIRTUAL_PORT and VIRTUAL_PATH; the service is named after the first host and the path', () => {
    expect(mapNginxProxy(input({}, { VIRTUAL_HOST: 'www.example.com, example.com', VIRTUAL_PORT: '8080', VIRTUAL_PATH: '/shop', PATH: '/usr/bin' }))).toEqual({
      kind: 'map',
      labels: { 'fabric.service': 'www-example-com-shop', 'fabric.domains': 'www.example.com,example.com', 'fabric.port': '8080', 'fabric.path': '/shop' },
      ignored: [],
    });
  });

  it('VIRTUAL_PATH=/ is no path', () => {
    expect(mapNginxProxy(input({}, { VIRTUAL_HOST: 'a.example.com', VIRTUAL_PATH: '/' }))).toEqual({
      kind: 'map',
      labels: { 'fabric.service': 'a-example-com', 'fabric.domains': 'a.example.com' },
      ignored: [],
    });
  });

  it('is not concerned without VIRTUAL_HOST, or before the environment is known', () => {
    expect(mapNginxProxy(input({}, { VIRTUAL_PORT: '80' })).kind).toBe('none');
    expect(mapNginxProxy(input({ VIRTUAL_HOST: 'a.example.com' })).kind).toBe('none');
  });

  it("reports nginx-proxy's other variables as ignored", () => {
    const mapped = mapNginxProxy(input({}, { VIRTUAL_HOST: 'a.example.com', VIRTUAL_PROTO: 'https', LETSENCRYPT_HOST: 'a.example.com' }));
    expect(mapped).toMatchObject({ kind: 'map', ignored: ['nginx-proxy: LETSENCRYPT_HOST is not mapped', 'nginx-proxy: VIRTUAL_PROTO is not mapped'] });
  });
});

describe('registrator', () => {
  it('maps SERVICE_NAME, the check and urlprefix tags, from labels over the environment', () => {
    const mapped = mapRegistrator(
      input(
        { SERVICE_NAME: 'shop', SERVICE_TAGS: 'urlprefix-shop.example.com/api,blue' },
        { SERVICE_NAME: 'overridden', SERVICE_CHECK_HTTP: '/healthz', SERVICE_CHECK_INTERVAL: '5s', SERVICE_REGION: 'eu' },
      ),
    );
    expect(mapped).toEqual({
      kind: 'map',
      labels: {
        'fabric.service': 'shop',
        'fabric.health.path': '/healthz',
        'fabric.health.interval': '5s',
        'fabric.domains': 'shop.example.com',
        'fabric.path': '/api',
      },
      ignored: ['registrator: tag "blue" (fabric has no tags; only urlprefix-<host><path> is read)', 'registrator: SERVICE_REGION is not mapped'],
    });
  });

  it('SERVICE_<port>_NAME names the service and the port; a second port is reported', () => {
    const mapped = mapRegistrator(input({ SERVICE_9000_NAME: 'admin', SERVICE_80_NAME: 'web', SERVICE_80_CHECK_HTTP: '/ping' }));
    expect(mapped).toEqual({
      kind: 'map',
      labels: { 'fabric.service': 'web', 'fabric.port': '80', 'fabric.health.path': '/ping' },
      ignored: ['registrator: SERVICE_9000_NAME (fabric registers one port per container; port 80 is used)'],
    });
  });

  it('is not concerned without a name, or with SERVICE_IGNORE', () => {
    expect(mapRegistrator(input({ SERVICE_TAGS: 'x' })).kind).toBe('none');
    expect(mapRegistrator(input({ SERVICE_NAME: 'web', SERVICE_IGNORE: 'true' })).kind).toBe('none');
  });

  it('refuses urlprefix tags with two paths', () => {
    expect(mapRegistrator(input({ SERVICE_NAME: 'web', SERVICE_TAGS: 'urlprefix-/a,urlprefix-/b' }))).toMatchObject({
      kind: 'refuse',
      reason: /two paths|2 paths/,
    });
  });
});

describe('traefik', () => {
  it('maps the rule, the port and the health check; middlewares and entry points are reported', () => {
    const mapped = mapTraefik(
      input({
        'traefik.enable': 'true',
        'traefik.http.routers.shop.rule': 'Host(`shop.example.com`) || Host(`www.shop.example.com`)',
        'traefik.http.routers.shop.entrypoints': 'web',
        'traefik.http.routers.shop.middlewares': 'compress@docker',
        'traefik.http.middlewares.compress.compress': 'true',
        'traefik.http.services.shop-svc.loadbalancer.server.port': '8080',
        'traefik.http.services.shop-svc.loadbalancer.healthcheck.path': '/healthz',
      }),
    );
    expect(mapped).toEqual({
      kind: 'map',
      labels: {
        'fabric.service': 'shop-svc',
        'fabric.port': '8080',
        'fabric.health.path': '/healthz',
        'fabric.domains': 'shop.example.com,www.shop.example.com',
      },
      ignored: [
        'traefik: traefik.http.middlewares.compress.compress is not mapped',
        'traefik: traefik.http.routers.shop.entrypoints is not mapped',
        'traefik: traefik.http.routers.shop.middlewares is not mapped',
      ],
    });
  });

  it('names the service after the router, else the compose service, else the container', () => {
    expect(mapTraefik(input({ 'traefik.http.routers.api.rule': 'Host(`a.example.com`) && PathPrefix(`/v1`)' }))).toMatchObject({
      labels: { 'fabric.service': 'api', 'fabric.path': '/v1' },
    });
    expect(mapTraefik(input({ 'traefik.enable': 'true', 'com.docker.compose.service': 'Blog_App' }))).toMatchObject({
      labels: { 'fabric.service': 'blog-app' },
    });
    expect(mapTraefik(input({ 'traefik.enable': 'true' }))).toMatchObject({ labels: { 'fabric.service': 'shop-web-1' } });
  });

  it('an access-control middleware refuses the container: never served open without it', () => {
    const mapped = mapTraefik(
      input({
        'traefik.http.routers.a.rule': 'Host(`a.example.com`)',
        'traefik.http.routers.a.middlewares': 'ops',
        'traefik.http.middlewares.ops.basicAuth.users': 'ops:$$2y$$05$$abc',
        'traefik.http.middlewares.office.ipallowlist.sourcerange': '10.0.0.0/8',
      }),
    );
    expect(mapped).toMatchObject({ kind: 'refuse', reason: expect.stringMatching(/middleware office \(ipallowlist\), ops \(basicAuth\) guards access/) });
  });

  it('traefik.enable=false, or no traefik label, is not a concern', () => {
    expect(mapTraefik(input({ 'traefik.enable': 'false', 'traefik.http.routers.a.rule': 'Host(`a.example.com`)' })).kind).toBe('none');
    expect(mapTraefik(input({ other: 'x' })).kind).toBe('none');
  });

  it('a refused rule is reported; when no rule is left, the container is refused', () => {
    const two = mapTraefik(
      input({
        'traefik.http.routers.a.rule': 'Host(`a.example.com`)',
        'traefik.http.routers.b.rule': 'HostRegexp(`.+`)',
        'traefik.http.routers.c.rule': 'Host(`c.example.com`) && PathPrefix(`/c`)',
      }),
    );
    expect(two).toMatchObject({ kind: 'map', labels: { 'fabric.service': 'a', 'fabric.domains': 'a.example.com' } });
    expect(two.kind === 'map' && two.ignored).toEqual([
      'traefik: router b: HostRegexp() is not supported by fabric (only Host and PathPrefix)',
      "traefik: router c: its PathPrefix differs from router a's; fabric routes one path per container",
    ]);
    expect(mapTraefik(input({ 'traefik.http.routers.a.rule': 'Path(`/x`)' }))).toMatchObject({ kind: 'refuse', reason: /router a: Path\(\) is not supported/ });
  });
});

describe('effectiveLabels', () => {
  const tools = ['nginx-proxy', 'registrator', 'traefik'] as const;

  it('native fabric.* keys win over mapped ones, key by key', () => {
    const effective = effectiveLabels(tools, input({ 'fabric.port': '9090', 'fabric.weight': '5' }, { VIRTUAL_HOST: 'a.example.com', VIRTUAL_PORT: '80' }));
    expect(effective.labels).toMatchObject({
      'fabric.service': 'a-example-com',
      'fabric.port': '9090',
      'fabric.weight': '5',
      'fabric.domains': 'a.example.com',
    });
    expect(effective.from).toBe('nginx-proxy');
  });

  it('with fabric.service the native labels are read and the other tools reported', () => {
    const labels = { 'fabric.service': 'web', 'traefik.http.routers.x.rule': 'Host(`x.example.com`)' };
    expect(effectiveLabels(tools, input(labels, { VIRTUAL_HOST: 'v.example.com' }))).toEqual({
      labels,
      ignored: ['traefik: labels ignored, the native fabric.* labels win'],
    });
  });

  it('the first tool in --compat order wins; the others are reported', () => {
    const effective = effectiveLabels(['traefik', 'registrator'], input({ SERVICE_NAME: 'reg', 'traefik.http.routers.t.rule': 'Host(`t.example.com`)' }));
    expect(effective.labels?.['fabric.service']).toBe('t');
    expect(effective.ignored).toEqual(["registrator: ignored, traefik's labels are read"]);
  });

  it('a container no tool knows has no labels', () => {
    expect(effectiveLabels(tools, input({ x: 'y' }, { PATH: '/bin' }))).toEqual({ labels: undefined, ignored: [] });
  });
});

describe('parseCompatList and serviceNameFrom', () => {
  it('parses the flag and a YAML list; refuses unknown tools', () => {
    expect(parseCompatList('traefik, nginx-proxy,traefik')).toEqual(['traefik', 'nginx-proxy']);
    expect(parseCompatList(['registrator'])).toEqual(['registrator']);
    expect(parseCompatList('none')).toEqual([]);
    expect(parseCompatList('traefk')).toMatch(/unknown tool "traefk"/);
  });

  it('makes DNS labels of other names', () => {
    expect(serviceNameFrom('WWW.Example.com')).toBe('www-example-com');
    expect(serviceNameFrom('__')).toBeUndefined();
    const long = serviceNameFrom(`${'a'.repeat(70)}.example.com`)!;
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^a+-[0-9a-f]{8}$/);
  });
});
