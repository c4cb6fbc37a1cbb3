import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { routerDocs } from '../api-docs.js';
import { packageRoot } from '../render.js';

/** The page's own files (lb/dashboard/static/): plain HTML, CSS and ES modules, no build step. */
const STATIC_FILES = new Set(['app.css', 'app.js', 'util.js', 'charts.js', 'services.js', 'service.js', 'timeline.js', 'hosts.js', 'config.js', 'problems.js']);
/** uPlot's distribution files, served from the installed package (a dependency, so a packed install has it). */
const VENDOR_FILES = new Set(['uPlot.esm.js', 'uPlot.min.css']);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

/**
 * The dashboard: `/` is the page shell, `/dashboard/<file>` its modules and styles, `/dashboard/vendor/<file>`
 * uPlot. It renders what `/v1/events` streams and fetches a service's detail on its page.
 */
export function dashboardRoutes(app: FastifyInstance): void {
  const staticDir = join(packageRoot(), 'lb', 'dashboard', 'static');
  const vendorDir = dirname(createRequire(import.meta.url).resolve('uplot'));
  const cache = new Map<string, Promise<string>>();
  const send = async (reply: FastifyReply, file: string) => {
    let text = cache.get(file);
    if (!text) {
      text = readFile(file, 'utf8');
      cache.set(file, text);
      text.catch(() => cache.delete(file));
    }
    // no-cache: the browser revalidates, so an upgraded router never runs with stale modules.
    return reply
      .type(TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream')
      .header('cache-control', 'no-cache')
      .send(await text);
  };
  app.get('/', { schema: routerDocs.dashboard }, (_request, reply) => send(reply, join(staticDir, 'index.html')));
  app.get<{ Params: { file: string } }>('/dashboard/:file', { schema: routerDocs.dashboardFile }, (request, reply) =>
    STATIC_FILES.has(request.params.file) ? send(reply, join(staticDir, request.params.file)) : reply.code(404).send({ error: 'not found' }),
  );
  app.get<{ Params: { file: string } }>('/dashboard/vendor/:file', { schema: routerDocs.dashboardVendor }, (request, reply) =>
    VENDOR_FILES.has(request.params.file) ? send(reply, join(vendorDir, request.params.file)) : reply.code(404).send({ error: 'not found' }),
  );
}
