import type { FastifyInstance } from 'fastify';
import { withoutHashes } from '../src/model/policy/basic-auth.js';
import { routerDocs } from './api-docs.js';
import { INTERNAL_HEADER } from './events.js';
import type { HealthSource } from './health/source.js';
import { type ModelEndpoint, type ModelIssue, type RouteModel, type ServiceModel, servingState } from './model.js';
import type { Router } from './router.js';

/** The router's read API over its current model. */
export function routerRoutes(app: FastifyInstance, router: Router): void {
  app.get('/v1/services', { schema: routerDocs.services }, async (request) => {
    // The event hub's snapshot leaves traffic out (it has its own event): not computed for it.
    const traffic = request.headers[INTERNAL_HEADER] === 'events' ? undefined : router.traffic;
    return {
      revision: router.model?.revision ?? null,
      services: (router.model?.services ?? []).map((s) => ({
        ...serviceView(s, router.health, router.model?.issues ?? []),
        traffic: traffic?.service(s.name) ?? null,
      })),
    };
  });
  app.get<{ Params: { name: string } }>('/v1/services/:name', { schema: routerDocs.service }, async (request, reply) => {
    const service = findService(router, request.params.name);
    if (!service) return reply.code(404).send({ error: 'not found', service: request.params.name });
    return { ...serviceView(service, router.health, router.model?.issues ?? []), traffic: router.traffic?.service(service.name) ?? null };
  });
  app.get<{ Params: { name: string } }>('/v1/services/:name/health', { schema: routerDocs.serviceHealth }, async (request, reply) => {
    const service = findService(router, request.params.name);
    const healthy = service ? service.endpoints.filter((e) => servingState(e) === 'ready').length : 0;
    const total = service?.endpoints.length ?? 0;
    return reply.code(healthy > 0 ? 200 : 503).send({ service: request.params.name, healthy, total, status: healthy > 0 ? 'up' : 'down' });
  });
  app.get('/v1/routes', { schema: routerDocs.routes }, async () => ({
    revision: router.model?.revision ?? null,
    routes: (router.model?.weightedRoutes ?? []).map((r) => routeView(r, router.model?.issues ?? [])),
  }));
}

function findService(router: Router, name: string): ServiceModel | undefined {
  return router.model?.services.find((s) => s.name === name);
}

function serviceView(service: ServiceModel, health: HealthSource | undefined, issues: ModelIssue[]) {
  return {
    name: service.name,
    mode: service.mode,
    balance: service.balance,
    domains: service.domains,
    paths: service.paths,
    vip: service.vip ? hostPort(service.vip.address, service.vip.port) : null,
    spec: service.spec ? withoutHashes(service.spec) : null,
    conflicts: issuesOf(`services/${service.name}`, issues),
    endpoints: service.endpoints.map((e) => endpointView(e, health)),
    healthy: service.endpoints.filter((e) => servingState(e) === 'ready').length,
  };
}

/** The endpoint as the agent wrote it, how it is served, and the router's active check (lb/health). */
function endpointView(endpoint: ModelEndpoint, health: HealthSource | undefined) {
  return {
    ...endpoint,
    serving: servingState(endpoint),
    effectiveHealth: health?.effectiveHealth(endpoint) ?? endpoint.health,
    healthCheck: health?.view(endpoint) ?? null,
  };
}

/** Refused claims and VIP requests of one service or route (`services/<name>`, `routes/<name>`). */
function issuesOf(subject: string, issues: ModelIssue[]): ModelIssue[] {
  return issues.filter((i) => i.subject === subject && i.code !== 'FABRIC_ERR_DECODE');
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** A route with what it does now: each backend's effective share and endpoint counts. */
function routeView(route: RouteModel, issues: ModelIssue[]) {
  return {
    name: route.name,
    host: route.host,
    path: route.path ?? null,
    sticky: route.sticky,
    active: route.active,
    backend: `route_${route.name}`,
    backends: route.groups.map((g) => ({
      service: g.service,
      version: g.version ?? null,
      weight: g.weight,
      effectiveWeight: Math.round(g.share * 10_000) / 100,
      endpoints: g.servers.length,
      serving: g.servers.filter((s) => s.weight > 0).length,
      serverWeights: g.servers.map((s) => ({ endpoint: s.key, weight: s.weight })),
    })),
    conflicts: issuesOf(`routes/${route.name}`, issues),
    spec: route.spec,
  };
}
