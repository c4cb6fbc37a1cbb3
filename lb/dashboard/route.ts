import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { routerDocs } from '../api-docs.js';
import { packageRoot } from '../render.js';

/** The dashboard: one static page (lb/dashboard/index.html) that renders what `/v1/events` streams. */
export function dashboardRoutes(app: FastifyInstance): void {
  const file = join(packageRoot(), 'lb', 'dashboard', 'index.html');
  let page: Promise<string> | undefined;
  app.get('/', { schema: routerDocs.dashboard }, async (_request, reply) => {
    page ??= readFile(file, 'utf8');
    return reply.type('text/html; charset=utf-8').send(await page);
  });
}
