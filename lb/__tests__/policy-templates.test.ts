// The default templates with traffic policies: what a location and a backend print, and that
// nginx -t and haproxy -c accept the result.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nginxPaths, nginxView, renderNginx } from '../nginx/view.js';
import { createTemplateEngine, loadTemplate, templatePath } from '../render.js';
import { endpointEntry, ep, modelOf, specEntry } from './fixtures.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-policy-templates-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const paths = nginxPaths(path.join(work, 'nginx.conf'), work);
const settings = { http: '127.0.0.1:18081', workerShutdownTimeout: '30s' };

const spec = {
  name: 'web',
  domains: ['web.example.com'],
  stripPrefix: '/api',
  headers: { request: { 'X-Env': 'prod' }, response: { 'X-Frame-Options': 'DENY' } },
};

describe('nginx template with policies', () => {
  it('a location with headers repeats fabric proxy_set_header lines, and HSTS in HTTPS server blocks', async () => {
    const view = nginxView(modelOf([specEntry(spec), endpointEntry(ep('web', 'w1'))]), paths, settings);
    const host = view.hosts.find((h) => h.name === 'web.example.com')!;
    const tlsHost = { ...host, tls: { cert: 'web', file: path.join(work, 'web.pem'), version: 'v1', hsts: '31536000' } };
    const withTls = {
      ...view,
      https: { listen: '127.0.0.1:18443', redirectPort: ':18443', defaultCert: path.join(work, 'default.pem'), defaultVersion: 'v0' },
      tlsHosts: [tlsHost],
    };
    const template = await loadTemplate(createTemplateEngine(), templatePath('templates/nginx.conf.hbs'));
    const { content } = renderNginx(template, withTls);
    const locations = [...content.matchAll(/location \/ \{\n([^}]*)\}/g)].map((m) => m[1]!).filter((b) => b.includes('proxy_pass http://svc_web'));
    // web.apps.test and web.example.com over HTTP, then web.example.com over HTTPS.
    expect(locations).toHaveLength(3);
    for (const block of locations) {
      expect(block).toContain('rewrite ^/api$ / break;');
      expect(block).toContain('proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;');
      expect(block).toContain('proxy_set_header X-Env "prod";');
      expect(block).toContain('add_header X-Frame-Options "DENY" always;');
    }
    expect(locations[0]).not.toContain('Strict-Transport-Security');
    expect(locations[1]).not.toContain('Strict-Transport-Security');
    expect(locations[2]).toContain('add_header Strict-Transport-Security "max-age=31536000" always;');
  });

  it('nginx -t accepts a config with every built policy', async () => {
    const entries = [
      specEntry(spec),
      endpointEntry(ep('web', 'w1')),
      specEntry({ name: 'moved', domains: ['moved.example.com'], redirect: { scheme: 'https', host: 'www.example.com', code: 301 } }),
      specEntry({ name: 'maint', domains: ['maint.example.com'], maintenance: { enabled: true, page: '<h1 class="x">back\tsoon</h1>\n100% \\o/' } }),
    ];
    const template = await loadTemplate(createTemplateEngine(), templatePath('templates/nginx.conf.hbs'));
    const { content } = renderNginx(template, nginxView(modelOf(entries), paths, settings));
    for (const dir of [path.dirname(paths.pid), path.dirname(paths.errorLog), ...Object.values(paths.temp)]) fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(paths.config, content);
    execFileSync('nginx', ['-t', '-q', '-p', work, '-c', paths.config], { stdio: 'pipe' });
  });
});
