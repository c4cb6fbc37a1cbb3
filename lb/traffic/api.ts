import type { FastifyInstance } from 'fastify';
import { routerDocs } from '../api-docs.js';
import type { Router } from '../router.js';

/** `GET /v1/services/:name/traffic` (with series) and `GET /v1/traffic` (the summary), docs/traffic.md. */
export function trafficRoutes(app: FastifyInstance, router: Router): void {
  app.get<{ Params: { name: string } }>('/v1/services/:name/traffic', { schema: routerDocs.serviceTraffic }, async (request, reply) => {
    const { name } = request.params;
    const known = router.model?.services.some((s) => s.name === name) || router.traffic?.store.services.has(name);
    if (!known) return reply.code(404).send({ error: 'not found', service: name });
    return router.traffic?.service(name, true) ?? unsampled(name);
  });
  app.get('/v1/traffic', { schema: routerDocs.traffic }, async () => router.traffic?.summary() ?? { sampledAt: null, services: {} });
}

/** A service no source has sampled yet (or no target samples traffic): the same shape, empty. */
function unsampled(service: string) {
  return {
    service,
    since: null,
    sampledAt: null,
    total: null,
    requestsPerSecond: 0,
    errorsPerSecond: 0,
    errorRate: 0,
    responseTimeMs: null,
    sessions: 0,
    queue: 0,
    endpoints: [],
    versions: [],
    series: [],
  };
}
