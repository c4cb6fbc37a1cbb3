// The dashboard's files as the router serves them: every module the page imports is served (the allow
// list and the files agree), uPlot comes from the installed package, anything else is a 404.
import fs from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../render.js';
import { dashboardRoutes } from '../route.js';

const app = Fastify();
dashboardRoutes(app);
afterAll(() => app.close());

const STATIC = path.join(packageRoot(), 'lb', 'dashboard', 'static');

/** Relative files the page and its modules load (`./x.js`, `dashboard/x.css`). */
function referenced(): string[] {
  const names = new Set<string>();
  for (const file of fs.readdirSync(STATIC)) {
    const text = fs.readFileSync(path.join(STATIC, file), 'utf8');
    for (const m of text.matchAll(/(?:from |src=|href=)["'](?:\.\/|dashboard\/)([\w./-]+\.(?:js|css))["']/g)) names.add(m[1]!);
  }
  return [...names].sort();
}

describe('dashboard routes', () => {
  it('serves the page, every file it references, and uPlot', async () => {
    const page = await app.inject('/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const files = referenced();
    expect(files).toContain('app.js');
    expect(files).toContain('vendor/uPlot.esm.js');
    for (const file of files) {
      const answer = await app.inject(`/dashboard/${file}`);
      expect(answer.statusCode, file).toBe(200);
      expect(answer.headers['content-type'], file).toMatch(file.endsWith('.js') ? /text\/javascript/ : /text\/css/);
    }
    // Every file in static/ is reachable (nothing shipped that the allow list forgets).
    for (const file of fs.readdirSync(STATIC).filter((f) => f !== 'index.html')) expect((await app.inject(`/dashboard/${file}`)).statusCode, file).toBe(200);
  });

  it('answers 404 for anything else', async () => {
    for (const url of ['/dashboard/route.js', '/dashboard/..%2Fpackage.json', '/dashboard/vendor/uPlot.cjs.js', '/dashboard/vendor/..%2F..%2Fpackage.json']) {
      expect((await app.inject(url)).statusCode, url).toBe(404);
    }
  });
});
