// The Go port of the shipped HAProxy template (bench/templates/haproxy.cfg.tmpl, what the template
// benchmark renders) prints exactly what templates/haproxy.cfg.hbs prints, for every shape of view.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { haproxyBenchView } from '../../../../bench/templates/view.js';
import { compileTemplate, createEngine, createTemplateEngine } from '../../../render.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const hbs = compileTemplate(createTemplateEngine(), fs.readFileSync(path.join(ROOT, 'templates/haproxy.cfg.hbs'), 'utf8'), 'haproxy.cfg.hbs');
const go = createEngine('go').compile(fs.readFileSync(path.join(ROOT, 'bench/templates/haproxy.cfg.tmpl'), 'utf8'), 'haproxy.cfg.tmpl');

describe('haproxy.cfg.tmpl, the Go port of haproxy.cfg.hbs', () => {
  it.each([
    { backends: 0, serversPerBackend: 0 },
    { backends: 1, serversPerBackend: 1, http: false },
    { backends: 1, serversPerBackend: 1, http: false, https: true },
    { backends: 3, serversPerBackend: 2, https: true },
    { backends: 14, serversPerBackend: 7, maxconn: 20000 },
    { backends: 5, serversPerBackend: 4, maxconn: 7000, strictLimits: false },
    { backends: 100, serversPerBackend: 10 },
  ])('renders the same config for %o', (shape) => {
    const view = haproxyBenchView(shape);
    expect(go(view)).toBe(hbs(view));
  });
});
