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
import { desiredPeerSets, heldVersion, peerState } from './peers.js';
import { planDynamic } from './plan.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-nginx-dynamic-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const paths = nginxPaths(path.join(work, 'nginx.conf'), work);
const modules = luaModules('/usr/lib/nginx/modules');
const dynamic = modules ? { modules, luaDir: path.join(packageRoot(), 'templates/lua'), dictSize: '1m' } : undefined;
const settings = { http: '127.0.0.1:18081', workerShutdownTimeout: '30s', dynamic };

const model = (extra: Array<ReturnType<typeof ep>> = []) =>
  modelOf(
    [
      ep('web', 'up', { port: 8001, weight: 50 }),
      ep('web', 'draining', { port: 8002, state: 'draining' }),
      ep('web', 'sick', { port: 8003, health: 'unhealthy' }),
      ep('web', 'v6', { port: 8006, address: 'fd00::1' }),
      ...extra,
    ].map(endpointEntry),
  );

describe('peer state', () => {
  it('carries every endpoint with its weight, drain and health, sorted, under a version of its content', () => {
    const state = peerState(desiredPeerSets(model()));
    expect(state.body).toBe(
      ['upstream svc_web roundrobin', '10.0.0.1 8001 50 0 1', '10.0.0.1 8002 100 1 1', '10.0.0.1 8003 100 0 0', 'fd00::1 8006 100 0 1', ''].join('\n'),
    );
    expect(state.text).toBe(`version ${state.version}\n${state.body}`);
    expect(heldVersion(state.text)).toBe(state.version);
    expect(heldVersion('version -\n')).toBeUndefined();
    expect(peerState([...desiredPeerSets(model())].reverse()).version).toBe(state.version);
  });

  it('moves only the peers version for membership and weights, and the config version for a new service', () => {
    const template = loadTemplate(createTemplateEngine(), templatePath('templates/nginx.conf.hbs'));
    return template.then((t) => {
      const render = (m: ReturnType<typeof model>) => ({
        config: renderNginx(t, nginxView(m, paths, settings)).version,
        peers: peerState(desiredPeerSets(m)).version,
      });
      const base = render(model());
      const churn = render(model([ep('web', 'more', { port: 8009, weight: 7 })]));
      const service = render(model([ep('api', 'one', { port: 9001 })]));
      expect(planDynamic(base, churn)).toEqual(dynamic ? { push: true, reload: false } : { push: true, reload: true });
      expect(planDynamic(base, service)).toEqual({ push: true, reload: true });
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
    const plain = nginxView(modelOf([endpointEntry(ep('web', 'd', { state: 'draining' }))]), paths, settings);
    expect(plain.hosts.find((h) => h.name === 'web.apps.test')?.locations[0]?.ready).toBe(true);
    expect(plain.upstreams.map((u) => u.name)).toEqual(['svc_web']);
  });

  it('loads the modules itself, declares every upstream with a Lua balancer, and passes nginx -t', async () => {
    const template = await loadTemplate(createTemplateEngine(), templatePath('templates/nginx.conf.hbs'));
    const { content } = renderNginx(template, nginxView(model(), paths, settings));
    expect(content).toMatch(/^load_module \/usr\/lib\/nginx\/modules\/ndk_http_module\.so;$/m);
    expect(content).toMatch(/^load_module \/usr\/lib\/nginx\/modules\/ngx_http_lua_module\.so;$/m);
    expect(content).toMatch(/upstream svc_web \{[^}]*server 0\.0\.0\.1;\s+balancer_by_lua_block \{ fabric_peers\.balance\("svc_web"\) \}/);
    expect(content).not.toMatch(/server 10\.0\.0\.1:8001/);
    expect(content).toMatch(/location = \/fabric\/peers/);
    for (const dir of ['run', 'logs', 'tmp']) fs.mkdirSync(path.join(work, dir), { recursive: true });
    fs.writeFileSync(paths.config, content);
    execFileSync('nginx', ['-t', '-q', '-p', `${work}/`, '-e', paths.errorLog, '-c', paths.config], { stdio: 'pipe' });
  });
});
