import { Readable } from 'node:stream';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, LogController } from 'fastify';
import type { Registry } from 'prom-client';
import { type ApiAccess, needsToken, presentedToken, redactToken, refuseOpenListen, tokenMatches } from './api-access.js';
import { FabricError } from './errors.js';
import { parseHostPort } from './grammar.js';
import type { Logger } from './log.js';
import { packageVersion } from './version.js';

export interface Readiness {
  ready: boolean;
  /** Why not ready, for operators and `/readyz` callers. */
  reasons: string[];
}

export interface ApiOptions {
  logger: Logger;
  registry: Registry;
  /** Families written outside the registry (the router's traffic: too many series for prom-client's objects), after its own. */
  moreMetrics?: () => Promise<readonly string[]>;
  readiness: () => Readiness;
  status: () => unknown;
  /** Title of the OpenAPI document at /docs. */
  title?: string;
  /** The API token and what stays open without it; none: loopback only, no token. */
  access?: ApiAccess;
}

/**
 * A response schema that documents without filtering: fields other parts of
 * fabric add to a payload still serialize.
 */
export function looseObject(description: string): Record<string, unknown> {
  return { description, type: 'object', additionalProperties: true };
}

/** Probes hit these every few seconds: their request log lines go to debug (the dashboard's own reads, marked `x-fabric-internal`, to trace). */
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The endpoints both processes serve; each adds its own routes before
 * `listen`. Every route is described in the OpenAPI document at `/docs`, so
 * the document must be set up (awaited) before any route is added.
 */
export async function createApi(options: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger.child({ scope: 'http' }) as FastifyBaseLogger,
    // fastify's own "incoming request" + "request completed" pair is replaced by one line (below).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    requestIdHeader: 'x-request-id',
    genReqId: () => Math.random().toString(36).slice(2, 10),
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: options.title ?? 'fabric API', version: packageVersion() },
    },
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => logRequest(request, reply.statusCode, reply.elapsedTime));
  if (options.access?.token) requireToken(app, options.access);
  addCommonRoutes(app, options);
  addDocsRoutes(app);
  return app;
}

/** The header an in-process request (`app.inject`, e.g. the event stream's snapshots) carries to pass the token check. */
const internalHeaders = new WeakMap<FastifyInstance, Record<string, string>>();

export function internalRequestHeaders(app: FastifyInstance): Record<string, string> {
  return internalHeaders.get(app) ?? {};
}

/** 401 before any route runs, unless the request carries the token (src/api-access.ts says where it may). */
function requireToken(app: FastifyInstance, access: ApiAccess): void {
  const expected = access.token ?? '';
  internalHeaders.set(app, { authorization: `Bearer ${expected}` });
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;
    if (!needsToken(path, access)) return;
    if (tokenMatches(presentedToken(path, request.headers.authorization, request.query), expected)) return;
    return reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="fabric"')
      .send({ error: { code: 'FABRIC_ERR_UNAUTHORIZED', message: 'this API needs "Authorization: Bearer <token>" (the token in --api-token-file)' } });
  });
}

/** One line per request, carrying the request id (fastify binds it to `request.log`). */
function logRequest(request: FastifyRequest, statusCode: number, elapsedMs: number): void {
  const line = { method: request.method, url: redactToken(request.url), statusCode, durationMs: Math.round(elapsedMs * 10) / 10 };
  const path = request.routeOptions.url ?? request.url;
  if (request.headers['x-fabric-internal']) request.log.trace(line, 'request');
  else if (PROBES.has(path)) request.log.debug(line, 'request');
  else request.log.info(line, 'request');
}

function addCommonRoutes(app: FastifyInstance, options: ApiOptions): void {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness',
        description: 'Always 200 while the process runs; `pid` says which process answered.',
        tags: ['health'],
        response: { 200: looseObject('alive') },
      },
    },
    async () => ({ status: 'ok', pid: process.pid }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness',
        description: '200 only when connected and applied; 503 with the reasons otherwise.',
        tags: ['health'],
        response: { 200: looseObject('ready'), 503: looseObject('not ready, with reasons') },
      },
    },
    async (_request, reply) => {
      const readiness = options.readiness();
      return reply.code(readiness.ready ? 200 : 503).send(readiness);
    },
  );
  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics', description: 'Text exposition format; see docs/metrics.md.', tags: ['health'] } },
    async (_request, reply) => {
      const [text, more] = await Promise.all([options.registry.metrics(), options.moreMetrics?.()]);
      // Many pieces are streamed as they are: joined, a 13 MB text would block the loop once more.
      return reply.type(options.registry.contentType).send(more ? Readable.from([text, ...more]) : text);
    },
  );
  app.get(
    '/v1/status',
    {
      schema: {
        summary: 'Process status',
        description: 'State, connections, last results and issues.',
        tags: ['status'],
        response: { 200: looseObject('status') },
      },
    },
    async () => options.status(),
  );
}

/** The OpenAPI 3 document describing every route of this process. */
function addDocsRoutes(app: FastifyInstance): void {
  const schema = () => ({ summary: 'OpenAPI document', description: 'This API, described as OpenAPI 3 JSON.', tags: ['docs'] });
  app.get('/docs', { schema: schema() }, async () => app.swagger());
  app.get('/docs/json', { schema: schema() }, async () => app.swagger());
}

export async function listen(app: FastifyInstance, address: string, access: ApiAccess = { metricsPublic: false }): Promise<string> {
  const parsed = parseHostPort(address);
  if (!parsed) throw new FabricError('FABRIC_ERR_CONFIG', `--listen ${address}: expected HOST:PORT`);
  refuseOpenListen(address, access);
  return app.listen({ host: parsed.host, port: parsed.port });
}
