import type { FastifyInstance } from 'fastify';
import type { Endpoint } from '../src/model/endpoint.js';
import { servingState, type ServiceModel } from './model.js';
import type { Router } from './router.js';

/** The router's read API over its current model. */
export function routerRoutes(app: FastifyInstance, router: Router): void {
  app.get('/v1/services', async () => ({
    revision: router.model?.revision ?? null,
    services: (router.model?.services ?? []).map(serviceView),
  }));
  app.get<{ Params: { name: string } }>('/v1/services/:name', async (request, reply) => {
    const service = findService(router, request.params.name);
    if (!service) return reply.code(404).send({ error: 'not found', service: request.params.name });
    return serviceView(service);
  });
  app.get<{ Params: { name: string } }>('/v1/services/:name/health', async (request, reply) => {
    const service = findService(router, request.params.name);
    const healthy = service ? service.endpoints.filter((e) => servingState(e) === 'ready').length : 0;
    const total = service?.endpoints.length ?? 0;
    return reply.code(healthy > 0 ? 200 : 503).send({ service: request.params.name, healthy, total, status: healthy > 0 ? 'up' : 'down' });
  });
  app.get('/v1/routes', async () => ({ routes: router.model?.routes ?? [] }));
}

function findService(router: Router, name: string): ServiceModel | undefined {
  return router.model?.services.find((s) => s.name === name);
}

function serviceView(service: ServiceModel) {
  return {
    name: service.name,
    mode: service.mode,
    balance: service.balance,
    domains: service.domains,
    paths: service.paths,
    vip: null,
    spec: service.spec ?? null,
    endpoints: service.endpoints.map(endpointView),
    healthy: service.endpoints.filter((e) => servingState(e) === 'ready').length,
  };
}

function endpointView(endpoint: Endpoint) {
  return { ...endpoint, serving: servingState(endpoint) };
}
