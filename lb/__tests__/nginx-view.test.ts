// The nginx view (pure) and the default template, validated by the real `nginx -t`.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { desiredHaproxy } from '../haproxy/desired.js';
import { ReloadPacer } from '../nginx/pacer.js';
import { nginxPaths, nginxView, renderNginx } from '../nginx/view.js';
import { createTemplateEngine, loadTemplate, templatePath } from '../render.js';
import { decodeEntry } from '../store.js';
import { endpointEntry, ep, modelOf, specEntry } from './fixtures.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-nginx-view-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const paths = nginxPaths(path.join(work, 'nginx.conf'), work);
const settings = { http: '127.0.0.1:18081', workerShutdownTimeout: '30s' };

describe('nginxView', () => {
  it('lists only ready endpoints with a weight in each upstream', () => {
    const model = modelOf([
      endpointEntry(ep('web', 'up', { port: 8001, weight: 50 })),
      endpointEntry(ep('web', 'draining', { port: 8002, state: 'draining' })),
      endpointEntry(ep('web', 'sick', { port: 8003, health: 'unhealthy' })),
      endpointEntry(ep('web', 'starting', { port: 8004, health: 'starting' })),
      endpointEntry(ep('web', 'zero', { port: 8005, weight: 0 })),
      endpointEntry(ep('web', 'healthy', { port: 8006, health: 'healthy', address: 'fd00::1' })),
    ]);
    const view = nginxView(model, paths, settings);
    expect(view.upstreams).toEqual([
      {
        name: 'svc_web',
        service: 'web',
        balance: 'roundrobin',
        servers: [
          // In endpoint-key order ("healthy" < "up").
          { target: '[fd00::1]:8006', weight: 100, endpoint: expect.stringMatching(/^h1\//) },
          { target: '10.0.0.1:8001', weight: 50, endpoint: expect.stringMatching(/^h1\//) },
        ],
        limitations: [],
      },
    ]);
  });

  it('leaves out the upstream of a service with no ready endpoint and marks its locations not ready', () => {
    const model = modelOf([endpointEntry(ep('down', 'a', { state: 'draining' })), endpointEntry(ep('up', 'b'))]);
    const view = nginxView(model, paths, settings);
    expect(view.upstreams.map((u) => u.name)).toEqual(['svc_up']);
    expect(view.hosts).toEqual([
      { name: 'down.apps.test', hasRoot: true, locations: [{ path: '/', service: 'down', upstream: 'svc_down', ready: false }], tls: null, redirect: false },
      { name: 'up.apps.test', hasRoot: true, locations: [{ path: '/', service: 'up', upstream: 'svc_up', ready: true }], tls: null, redirect: false },
    ]);
  });

  it('groups host rules into server blocks, longest path first, 404 where no rule covers /', () => {
    const model = modelOf([
      endpointEntry(ep('site', 's', { domains: ['www.example.com'] })),
      endpointEntry(ep('api', 'a', { domains: ['www.example.com'], path: '/api' })),
      endpointEntry(ep('v2', 'v', { domains: ['www.example.com'], path: '/api/v2' })),
    ]);
    const view = nginxView(model, paths, settings);
    expect(view.hosts.find((h) => h.name === 'www.example.com')).toEqual({
      name: 'www.example.com',
      hasRoot: true,
      tls: null,
      redirect: false,
      locations: [
        { path: '/api/v2', service: 'v2', upstream: 'svc_v2', ready: true },
        { path: '/api', service: 'api', upstream: 'svc_api', ready: true },
        { path: '/', service: 'site', upstream: 'svc_site', ready: true },
      ],
    });
    // api's own subdomain only carries its path prefix.
    expect(view.hosts.find((h) => h.name === 'api.apps.test')).toMatchObject({ hasRoot: false, locations: [{ path: '/api' }] });
  });

  it('keeps tcp services out of the http server', () => {
    const model = modelOf([endpointEntry(ep('db', 'd', { mode: 'tcp' })), endpointEntry(ep('web', 'w'))]);
    const view = nginxView(model, paths, settings);
    expect(view.upstreams.map((u) => u.service)).toEqual(['web']);
    expect(view.hosts.map((h) => h.name)).toEqual(['web.apps.test']);
    expect(view.tcpServices).toEqual(['db']);
  });

  it('maps balance from the Service spec', () => {
    const model = modelOf([specEntry({ name: 'web', balance: 'leastconn' }), endpointEntry(ep('web', 'w'))]);
    expect(nginxView(model, paths, settings).upstreams[0]!.balance).toBe('leastconn');
  });

  it('refuses a token that escaped validation', () => {
    expect(() => nginxView(modelOf([]), { ...paths, pid: '/tmp/a b;' }, settings)).toThrow(/unsafe token/);
  });

  it('sizes the server-name hash for long names', () => {
    const long = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.example.com`;
    const view = nginxView(modelOf([endpointEntry(ep('web', 'w', { domains: [long] }))]), paths, settings);
    expect(view.global.serverNamesHashBucketSize).toBe(256);
  });
});

/** web: three v1 replicas (one not ready) and one v2; a Route 90/10 on www.example.com. */
function canary(extra: Record<string, unknown> = {}, revision = 10) {
  const route = {
    name: 'canary',
    host: 'www.example.com',
    backends: [
      { service: 'web', version: 'v1', weight: 90 },
      { service: 'web', version: 'v2', weight: 10 },
    ],
    ...extra,
  };
  return modelOf(
    [
      specEntry({ name: 'web', domains: ['www.example.com'] }, 2),
      decodeEntry('routes/canary', JSON.stringify(route), 5),
      ...['a', 'b', 'c'].map((t, i) => endpointEntry(ep('web', `v1${t}`, { version: 'v1', port: 8001 + i }))),
      endpointEntry(ep('web', 'v1sick', { version: 'v1', port: 8004, health: 'unhealthy' })),
      endpointEntry(ep('web', 'v2a', { version: 'v2', port: 8010 })),
    ],
    'apps.test',
    revision,
  );
}

describe('nginxView: weighted Routes', () => {
  it("gives a Route its upstream, each endpoint weighted as in HAProxy's route backend", () => {
    const model = canary();
    const view = nginxView(model, paths, settings);
    const upstream = view.upstreams.find((u) => u.name === 'route_canary')!;
    expect(upstream).toMatchObject({ route: 'canary', service: 'web', balance: 'roundrobin', limitations: [] });
    // The same numbers as the HAProxy backend, less the endpoint that is not ready (weight 0 there).
    const haproxy = desiredHaproxy(model, new Map()).desired.backends.find((b) => b.name === 'route_canary')!;
    const byTarget = (servers: Array<{ target: string; weight: number }>) => servers.map((s) => `${s.target} ${s.weight}`).sort();
    expect(byTarget(upstream.servers)).toEqual(
      byTarget(haproxy.servers.filter((s) => s.endpoint !== undefined && s.weight > 0).map((s) => ({ target: `${s.address}:${s.port}`, weight: s.weight }))),
    );
    expect(byTarget(upstream.servers)).toEqual(['10.0.0.1:8001 256', '10.0.0.1:8002 256', '10.0.0.1:8003 256', '10.0.0.1:8010 85']);
    // The route's host goes to the route's upstream; the service's own subdomain stays on the service.
    expect(view.hosts.find((h) => h.name === 'www.example.com')!.locations).toEqual([
      { path: '/', service: 'web', route: 'canary', upstream: 'route_canary', ready: true },
    ]);
    expect(view.hosts.find((h) => h.name === 'web.apps.test')!.locations[0]).toMatchObject({ upstream: 'svc_web' });
    expect(view.limitations).toEqual([]);
  });

  it('lists what open-source nginx cannot do for a Route (sticky), in the config and for the status', async () => {
    const view = nginxView(canary({ sticky: true }), paths, settings);
    expect(view.limitations).toEqual([expect.stringMatching(/^route canary: sticky is not supported by open-source nginx/)]);
    const template = await loadTemplate(createTemplateEngine(), templatePath('templates/nginx.conf.hbs'));
    const rendered = renderNginx(template, view);
    expect(rendered.limitations).toEqual(view.limitations);
    expect(rendered.content).toMatch(/upstream route_canary \{\n\s+# route canary: sticky is not supported/);
  });

  it('answers 503 for a Route with no ready endpoint', () => {
    const route = { name: 'empty', host: 'empty.example.com', backends: [{ service: 'nobody', weight: 1 }] };
    const view = nginxView(modelOf([decodeEntry('routes/empty', JSON.stringify(route), 5)]), paths, settings);
    expect(view.upstreams).toEqual([]);
    expect(view.hosts).toEqual([
      {
        name: 'empty.example.com',
        hasRoot: true,
        locations: [{ path: '/', service: 'nobody', route: 'empty', upstream: 'route_empty', ready: false }],
        tls: null,
        redirect: false,
      },
    ]);
  });
});

describe('templates/nginx.conf.hbs', () => {
  const cases: Array<[string, ReturnType<typeof modelOf>, typeof settings | { http: undefined; workerShutdownTimeout: string }]> = [
    ['empty model', modelOf([]), settings],
    ['no http listener', modelOf([endpointEntry(ep('web', 'w'))]), { http: undefined, workerShutdownTimeout: '10s' }],
    [
      'every feature',
      modelOf([
        specEntry({ name: 'web', balance: 'source' }),
        specEntry({ name: 'lc', balance: 'leastconn' }),
        endpointEntry(ep('web', 'w1', { port: 8001, domains: ['www.example.com', 'example.com'] })),
        endpointEntry(ep('web', 'w2', { port: 8002, weight: 7 })),
        endpointEntry(ep('lc', 'l', { port: 8003 })),
        endpointEntry(ep('api', 'a', { domains: ['www.example.com'], path: '/api' })),
        endpointEntry(ep('gone', 'g', { state: 'draining' })),
        endpointEntry(ep('db', 'd', { mode: 'tcp' })),
        endpointEntry(ep('long', 'x', { domains: [`${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.example.com`] })),
      ]),
      settings,
    ],
    ['a weighted sticky Route', canary({ sticky: true }), settings],
  ];

  it.each(cases)('renders a config nginx -t accepts: %s', async (_name, model, caseSettings) => {
    const template = await loadTemplate(createTemplateEngine(), templatePath('templates/nginx.conf.hbs'));
    const { content, version } = renderNginx(template, nginxView(model, paths, caseSettings));
    expect(content).toContain(`return 200 "${version}\\n"`);
    for (const dir of ['run', 'logs', 'tmp']) fs.mkdirSync(path.join(work, dir), { recursive: true });
    const file = path.join(work, `case-${version}.conf`);
    fs.writeFileSync(file, content);
    execFileSync('nginx', ['-t', '-q', '-p', `${work}/`, '-e', paths.errorLog, '-c', file], { stdio: 'pipe' });
  });

  it('renders the same version for the same model, another for another', async () => {
    const template = await loadTemplate(createTemplateEngine(), templatePath('templates/nginx.conf.hbs'));
    const a = renderNginx(template, nginxView(modelOf([endpointEntry(ep('web', 'w'))]), paths, settings));
    const b = renderNginx(template, nginxView(modelOf([endpointEntry(ep('web', 'w'))]), paths, settings));
    const c = renderNginx(template, nginxView(modelOf([endpointEntry(ep('web', 'w', { weight: 5 }))]), paths, settings));
    expect(b).toEqual(a);
    expect(c.version).not.toBe(a.version);
    // The served parts: an upstream line per ready endpoint, a proxy_pass, the 503 for an empty service.
    expect(a.content).toMatch(/upstream svc_web \{[^}]*server 10\.0\.0\.1:8000 weight=100 /);
    expect(a.content).toMatch(/server_name web\.apps\.test;\s+default_type text\/plain;\s+location \/ \{\s+proxy_pass http:\/\/svc_web;/);
  });

  it('renders the same version at another etcd revision: only what nginx runs counts', async () => {
    const template = await loadTemplate(createTemplateEngine(), templatePath('templates/nginx.conf.hbs'));
    const at = (revision: number) => renderNginx(template, nginxView(canary({}, revision), paths, settings));
    expect(at(11).version).toBe(at(10).version);
    expect(at(11).content).not.toBe(at(10).content); // the header names the revision
    expect(renderNginx(template, nginxView(canary({ backends: [{ service: 'web', weight: 1 }] }, 10), paths, settings)).version).not.toBe(at(10).version);
  });
});

describe('ReloadPacer', () => {
  it('lets the first reload run at once and spaces the next ones by the interval', () => {
    let now = 10_000;
    const pacer = new ReloadPacer(1_000, () => now);
    expect(pacer.remaining()).toBe(0);
    pacer.mark();
    now += 300;
    expect(pacer.remaining()).toBe(700);
    now += 700;
    expect(pacer.remaining()).toBe(0);
    expect(new ReloadPacer(0, () => now).remaining()).toBe(0);
  });
});
