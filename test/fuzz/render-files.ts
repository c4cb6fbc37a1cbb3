// The render path the router's HAProxy and nginx targets take (lb/haproxy/target.ts plan(),
// lb/nginx/target.ts), without processes: model → desired → view → default template, and the
// targets' own check commands (`haproxy -c`, `nginx -t`, through lb/sync.ts checkFile) on a temp dir.
import fs from 'node:fs';
import path from 'node:path';
import { desiredHaproxy } from '../../lb/haproxy/desired.js';
import { haproxyView, renderMap } from '../../lb/haproxy/view.js';
import { type CheckDefaults, DEFAULT_CHECK } from '../../lb/health/spec.js';
import type { Model } from '../../lb/model.js';
import { nginxPaths, nginxView, renderNginx } from '../../lb/nginx/view.js';
import { createTemplateEngine, loadTemplate, type TemplateFn, templatePath } from '../../lb/render.js';
import { checkFile } from '../../lb/sync.js';

export interface Rendered {
  haproxy: { config: string; hostsMap: string; pathsMap: string; acmeMap: string };
  nginx: string;
}

export interface Renderer {
  render(model: Model, settings?: RenderSettings): Rendered;
  /** `haproxy -c` on the rendered files, as the HAProxy target runs it before a swap. */
  checkHaproxy(files: Rendered['haproxy']): Promise<void>;
  /** `nginx -t`, as the nginx target runs it. */
  checkNginx(config: string): Promise<void>;
}

/** What a router config sets of the render (lb/config.ts targets and healthCheck); the defaults otherwise. */
export interface RenderSettings {
  haproxy?: { http?: string; hardStopAfter?: string; maxconn?: number; prometheus?: string };
  nginx?: { http?: string; workerShutdownTimeout?: string };
  checks?: CheckDefaults;
}

export async function createRenderer(dir: string): Promise<Renderer> {
  const engine = createTemplateEngine();
  const haproxyTemplate: TemplateFn = await loadTemplate(engine, templatePath('templates/haproxy.cfg.hbs'));
  const nginxTemplate: TemplateFn = await loadTemplate(engine, templatePath('templates/nginx.conf.hbs'));
  const hdir = path.join(dir, 'haproxy');
  const files = {
    config: path.join(hdir, 'haproxy.cfg'),
    hostsMap: path.join(hdir, 'hosts.map'),
    pathsMap: path.join(hdir, 'paths.map'),
    acmeMap: path.join(hdir, 'acme.map'),
    adminSocket: path.join(hdir, 'run', 'admin.sock'),
    masterSocket: path.join(hdir, 'run', 'master.sock'),
  };
  const ndir = path.join(dir, 'nginx');
  const paths = nginxPaths(path.join(ndir, 'nginx.conf'), ndir);
  for (const d of [path.join(hdir, 'run'), path.dirname(paths.pid), path.dirname(paths.errorLog), ...Object.values(paths.temp)])
    fs.mkdirSync(d, { recursive: true });
  return {
    render(model, settings = {}) {
      const haproxySettings = { http: '127.0.0.1:18080', hardStopAfter: '30s', maxconn: undefined, ...settings.haproxy };
      const nginxSettings = { http: '127.0.0.1:18081', workerShutdownTimeout: '30s', ...settings.nginx };
      const checks = settings.checks ?? DEFAULT_CHECK;
      const { desired } = desiredHaproxy(model, new Map(), undefined, undefined, checks);
      return {
        haproxy: {
          config: haproxyTemplate(haproxyView(desired, model, files, haproxySettings)),
          hostsMap: renderMap(desired.hostMap),
          pathsMap: renderMap(desired.pathMap),
          acmeMap: renderMap(desired.acmeMap ?? []),
        },
        nginx: renderNginx(nginxTemplate, nginxView(model, paths, nginxSettings)).content,
      };
    },
    async checkHaproxy(rendered) {
      fs.writeFileSync(files.config, rendered.config);
      fs.writeFileSync(files.hostsMap, rendered.hostsMap);
      fs.writeFileSync(files.pathsMap, rendered.pathsMap);
      fs.writeFileSync(files.acmeMap, rendered.acmeMap);
      await checkFile(files.config, { check: 'haproxy -c -f {{src}}', dest: files.config, timeoutMs: 30_000, vars: {} }, 'haproxy -c rejected the config');
    },
    async checkNginx(config) {
      fs.writeFileSync(paths.config, config);
      const spec = {
        check: 'nginx -t -q -p {{prefix}} -e {{errorLog}} -c {{src}}',
        dest: paths.config,
        timeoutMs: 30_000,
        vars: { prefix: `${ndir}/`, errorLog: paths.errorLog },
      };
      await checkFile(paths.config, spec, 'nginx -t rejected the config');
    },
  };
}
