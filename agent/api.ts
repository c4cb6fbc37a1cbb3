import type { FastifyInstance } from 'fastify';
import type { Agent } from './agent.js';

/** Agent-only routes, on top of the shared health, metrics and status. */
export function agentRoutes(app: FastifyInstance, agent: Agent): void {
  app.get('/v1/endpoints', async () => ({
    host: agent.status().host,
    endpoints: agent.registered(),
    rejected: agent.rejected(),
  }));
}
