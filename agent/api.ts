import type { FastifyInstance } from 'fastify';
import { looseObject } from '../src/http.js';
import type { Agent } from './agent.js';

/** Agent-only routes, on top of the shared health, metrics and status. */
export function agentRoutes(app: FastifyInstance, agent: Agent): void {
  app.get(
    '/v1/endpoints',
    {
      schema: {
        summary: 'Registered endpoints',
        description:
          'What this agent registered in etcd, each rejected container with its reason, and (--compat) what of other tools labels each container carries that fabric did not map.',
        tags: ['agent'],
        response: { 200: looseObject('registered and rejected containers') },
      },
    },
    async () => ({
      host: agent.status().host,
      endpoints: agent.registered(),
      rejected: agent.rejected(),
      ignored: agent.ignored(),
    }),
  );
}
