import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from './log.js';
import { parseHostPort } from './grammar.js';
import { FabricError } from './errors.js';

export interface Readiness {
  ready: boolean;
  /** Why not ready, for operators and `/readyz` callers. */
  reasons: string[];
}

export interface ApiOptions {
  logger: Logger;
  registry: Registry;
  readiness: () => Readiness;
  status: () => unknown;
}

/** The endpoints both processes serve; each adds its own routes before `listen`. */
export function createApi(options: ApiOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger.child({ scope: 'http' }) as FastifyBaseLogger,
    // Probes hit /healthz and /metrics every few seconds: one log line each is noise.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => Math.random().toString(36).slice(2, 10),
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const readiness = options.readiness();
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  });
  app.get('/metrics', async (_request, reply) => {
    const text = await options.registry.metrics();
    return reply.type(options.registry.contentType).send(text);
  });
  app.get('/v1/status', async () => options.status());
  return app;
}

export async function listen(app: FastifyInstance, address: string): Promise<string> {
  const parsed = parseHostPort(address);
  if (!parsed) throw new FabricError('FABRIC_ERR_CONFIG', `--listen ${address}: expected HOST:PORT`);
  return app.listen({ host: parsed.host, port: parsed.port });
}
