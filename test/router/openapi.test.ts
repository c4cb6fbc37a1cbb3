// /docs serves a valid OpenAPI 3 document that lists every route the router registers: the
// document is compared with fastify's own route table of the real router start-up.
import AjvModule from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routerConfigSchema } from '../../lb/config.js';
import { type RouterHandle, startRouter } from '../../lb/start.js';
import { createLogger } from '../../src/log.js';
import { type EtcdServer, freePort, startEtcd } from '../harness/index.js';

interface Operation {
  summary?: string;
  description?: string;
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: object }>;
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: object }> }>;
}
interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
}

/** "METHOD /path" for every route in fastify's printRoutes tree (HEAD, added by fastify for each GET, left out). */
function fastifyRoutes(tree: string): string[] {
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│├└─ ]*)(\S.*?) \(([A-Z, ]+)\)$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + match[2]!;
    stack[depth] = path;
    for (const method of match[3]!.split(', ')) if (method !== 'HEAD') routes.push(`${method} ${path.replace(/\/\//g, '/')}`);
  }
  return routes.sort();
}

/** "/v1/services/{name}" → "/v1/services/:name". */
function fastifyPath(openApiPath: string): string {
  return openApiPath.replace(/\{([^}]+)\}/g, ':$1');
}

describe('router OpenAPI document', () => {
  let etcd: EtcdServer;
  let router: RouterHandle;

  beforeAll(async () => {
    etcd = await startEtcd();
    const config = routerConfigSchema.parse({ domain: 'apps.test' });
    router = await startRouter({
      common: { etcd: { endpoints: [etcd.endpoint], prefix: '/fabric' }, listen: `127.0.0.1:${await freePort()}`, logLevel: 'silent' },
      config,
      logger: createLogger('silent', 'router'),
      lbOnExit: 'stop',
    });
  });
  afterAll(async () => {
    await router?.stop();
    await etcd?.stop();
  });

  it('lists every route the router serves, each with a summary, description and responses', async () => {
    const response = await fetch(`${router.address}/docs`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as OpenApiDocument;
    expect(await (await fetch(`${router.address}/docs/json`)).json()).toEqual(doc);

    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/);

    const documented = Object.entries(doc.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${fastifyPath(path)}`))
      .sort();
    const registered = fastifyRoutes(router.api.printRoutes({ commonPrefix: false }));
    expect(registered).toContain('GET /v1/services/:name/health');
    expect(registered).toContain('GET /v1/events');
    expect(registered).toContain('GET /');
    expect(documented).toEqual(registered);

    // ajv is CommonJS: under NodeNext its default export is the module object.
    const Ajv = (AjvModule as unknown as { default: typeof AjvModule.default }).default ?? AjvModule;
    const ajv = new Ajv({ strict: false });
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(op.summary, `${where} summary`).toBeTruthy();
        expect(op.description, `${where} description`).toBeTruthy();
        expect(Object.keys(op.responses ?? {}).length, `${where} responses`).toBeGreaterThan(0);
        for (const [status, res] of Object.entries(op.responses ?? {})) {
          expect(status, where).toMatch(/^(\d{3}|default)$/);
          expect(res.description, `${where} ${status} description`).toBeTruthy();
          for (const media of Object.values(res.content ?? {})) if (media.schema) ajv.compile(media.schema);
        }
        // Every {param} in the path is declared as a required path parameter.
        for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
          const param = op.parameters?.find((p) => p.in === 'path' && p.name === name);
          expect(param?.required, `${where} path parameter ${name}`).toBe(true);
        }
      }
    }
  });

  it('serves the document from the agent API too (same createApi)', async () => {
    const { createApi } = await import('../../src/http.js');
    const { Registry } = await import('prom-client');
    const app = await createApi({
      logger: createLogger('silent', 'agent'),
      registry: new Registry(),
      readiness: () => ({ ready: true, reasons: [] }),
      status: () => ({}),
    });
    const doc = (await app.inject({ method: 'GET', url: '/docs' })).json() as OpenApiDocument;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/metrics', '/v1/status', '/docs']));
    await app.close();
  });
});
