// The pure part of nginx's run-time upstreams: the peer state pushed, what a version change decides,
// and the dynamic view validated by the real `nginx -t` with Debian's Lua module.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { endpointEntry, ep, modelOf, specEntry } from '../../__tests__/fixtures.js';
import { createTemplateEngine, loadTemplate, packageRoot, templatePath } from '../../render.js';
import { nginxPaths, nginxView, renderNginx } from '../view.js';
import { luaModules } from './module.js';
import { desiredPeerSets, fullText, heldVersion, peerPatch, peerState } from './peers.js';
import { planDynamic } from './plan.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-nginx-dynamic-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const paths = nginxPaths(path.join(work, 'nginx.conf'), work);
const modules = luaModules('/usr/lib/nginx/modules');
const dynamic = modules ? { modules, luaDir: path.join(packageRoot(), 'templates/lua'), dictSize: '1m' } : undefined;
const settings = { http: '127.0.0.1:18081', workerShutdownTimeout: '30s', dynamic };

const entries = (extra: Array<ReturnType<typeof ep>> = []) =>
  [
    ep('web', 'up', { port: 8001, weight: 50 }),
    ep('web', 'draining', { port: 8002, state: 'draining' }),
    ep('web', 'sick', { port: 8003, health: 'unhealthy' }),
    ep('web', 'v6', { port: 8006, address: 'fd00::1' }),
    ...extra,
  ].map(endpointEntry);
const model = (extra: Array<ReturnType<typeof ep>> = []) => modelOf(entries(extra));

describe('peer state', () => {
  it('carries every endpoint with its weight, drain and health, sorted, under a version of its content', () => {
    const state = peerState(desiredPeerSets(model()));
    const body = ['upstream svc_web roundrobin', '10.0.0.1 8001 50 0 1', '10.0.0.1 8002 100 1 1', '10.0.0.1 8003 100 0 0', 'fd00::1 8006 100 0 1', ''];
    expect(fullText(state)).toBe(`version ${state.version}\n${body.join('\n')}`);
    expect(heldVersion(fullText(state))).toBe(state.version);
    expect(heldVersion('version -\n')).toBeUndefined();
    expect(peerState([...desiredPeerSets(model())].reverse()).version).toBe(state.version);
  });

  it('patches only the upstreams that changed or went, on top of the version nginx holds', () => {
    const held = peerState(desiredPeerSets(model([ep('api', 'a1', { port: 9001 })])));
    const next = peerState(desiredPeerSets(model([ep('web', 'more', { port: 8009, weight: 7 }), ep('db', 'd1', { port: 5432 })])));
    const patch = peerPatch(held, next);
    expect(patch).toMatchObject({ changed: 2, removed: 1 });
    const lines = patch.text.split('\n');
    expect(lines.slice(0, 2)).toEqual([`base ${held.version}`, `version ${next.version}`]);
    expect(lines.filter((l) => l.startsWith('upstream '))).toEqual(['upstream svc_db roundrobin', 'upstream svc_web roundrobin']);
    expect(lines).toContain('10.0.0.1 8009 7 0 1');
    expect(lines).toContain('remove svc_api');
    expect(patch.expected).toBe(`version ${next.version}\nupstreams 2\nhosts 0\n${next.blocks.get('svc_db')}${next.blocks.get('svc_web')}absent svc_api\n`);
    expect(peerPatch(next, next)).toMatchObject({ changed: 0, removed: 0 });
  });

  it('moves only the peers version for membership, weights and a plain new service, the config version for structure', () => {
    const template = loadTemplate(createTemplateEngine(), templatePath('templates/nginx.conf.hbs'));
    return template.then((t) => {
      const render = (m: ReturnType<typeof model>) => {
        const view = nginxView(m, paths, settings);
        return { config: renderNginx(t, view).version, peers: peerState(desiredPeerSets(m), view.runtimeHosts).version };
      };
      const base = render(model());
      const churn = render(model([ep('web', 'more', { port: 8009, weight: 7 })]));
      const plain = render(model([ep('api', 'one', { port: 9001 })]));
      const headers = { name: 'api', headers: { request: { 'X-Team': 'api' } } };
      const withPolicy = render(modelOf([specEntry(headers), ...[ep('web', 'up', { port: 8001 }), ep('api', 'one', { port: 9001 })].map(endpointEntry)]));
      expect(planDynamic(base, churn)).toEqual(dynamic ? { push: true, reload: false } : { push: true, reload: true });
      expect(planDynamic(base, plain)).toEqual(dynamic ? { push: true, reload: false } : { push: true, reload: true });
      expect(planDynamic(base, withPolicy)).toEqual({ push: true, reload: true });
      expect(planDynamic(base, base)).toEqual({ push: false, reload: false });
      expect(planDynamic({ config: undefined, peers: undefined }, base)).toEqual({ push: true, reload: true });
    });
  });
});

describe.skipIf(!dynamic)('dynamic nginx.conf', () => {
  it('proxies every location whatever its endpoints, except one with its own 503 page and no ready endpoint', () => {
    const pages = { name: 'paged', errorPages: { 503: 'down for a moment' } };
    const view = nginxView(modelOf([specEntry(pages), endpointEntry(ep('paged', 'd', { state: 'draining' }))]), paths, settings);
    expect(view.hosts.find((h) => h.name === 'paged.apps.test')?.locations[0]).toMatchObject({ ready: false, unready: expect.any(String) });
    const headers = { name: 'web', headers: { request: { 'X-Team': 'web' } } };
    const plain = nginxView(modelOf([specEntry(headers), endpointEntry(ep('web', 'd', { state: 'draining' }))]), paths, settings);
    expect(plain.hosts.find((h) => h.name === 'web.apps.test')?.locations[0]?.ready).toBe(true);
    expect(plain.upstreams.map((u) => u.name)).toEqual(['svc_web']);
  });

  it('routes a plain service by host from the dict: no server block, no upstream block of its own', () => {
    const spec = { name: 'tuned', headers: { request: { 'X-Team': 'x' } } };
    const view = nginxView(
      modelOf([specEntry(spec), ...[ep('web', 'w1', { port: 8001 }), ep('tuned', 't1', { port: 8002 }), ep('api', 'a1', { port: 8003 })].map(endpointEntry)]),
      paths,
      settings,
    );
    expect(view.catchAll).toBe(true);
    expect([...view.runtimeHosts]).toEqual([
      ['api.apps.test', 'svc_api'],
      ['web.apps.test', 'svc_web'],
    ]);
    expect(view.hosts.map((h) => h.name)).toEqual(['tuned.apps.test']);
    expect(view.upstreams.map((u) => u.name)).toEqual(['svc_tuned']);
    const state = peerState(desiredPeerSets(modelOf([ep('web', 'w1', { port: 8001 })].map(endpointEntry))), view.runtimeHosts);
    expect(fullText(state).split('\n').slice(-3)).toEqual(['host api.apps.test svc_api', 'host web.apps.test svc_web', '']);
    // Without an HTTP listener there is no catch-all server: every host keeps its server block.
    const httpsOnly = nginxView(modelOf([endpointEntry(ep('web', 'w1'))]), paths, { ...settings, http: undefined });
    expect(httpsOnly.runtimeHosts.size).toBe(0);
  });

  it('loads the modules itself, declares every upstream with a Lua balancer, and passes nginx -t', async () => {
    const template = await loadTemplate(createTemplateEngine(), templatePath('templates/nginx.conf.hbs'));
    const tuned = { name: 'web', headers: { request: { 'X-Team': 'web' } } };
    const { content } = renderNginx(template, nginxView(modelOf([specEntry(tuned), ...entries()]), paths, settings));
    expect(content).toMatch(/^load_module \/usr\/lib\/nginx\/modules\/ndk_http_module\.so;$/m);
    expect(content).toMatch(/^load_module \/usr\/lib\/nginx\/modules\/ngx_http_lua_module\.so;$/m);
    expect(content).toMatch(/upstream svc_web \{[^}]*server 0\.0\.0\.1;\s+balancer_by_lua_block \{ fabric_peers\.balance\("svc_web"\) \}/);
    expect(content).not.toMatch(/server 10\.0\.0\.1:8001/);
    expect(content).toMatch(/location = \/fabric\/peers/);
    expect(content).toMatch(/upstream fabric_runtime \{[^}]*balancer_by_lua_block \{ fabric_peers\.balance\(ngx\.var\.fabric_upstream\) \}/);
    expect(content).toMatch(/rewrite_by_lua_block \{ fabric_peers\.route\(\) \}\s+proxy_pass http:\/\/fabric_runtime;/);
    for (const dir of ['run', 'logs', 'tmp']) fs.mkdirSync(path.join(work, dir), { recursive: true });
    fs.writeFileSync(paths.config, content);
    execFileSync('nginx', ['-t', '-q', '-p', `${work}/`, '-e', paths.errorLog, '-c', paths.config], { stdio: 'pipe' });
  });
});
