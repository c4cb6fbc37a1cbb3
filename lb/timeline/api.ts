import type { FastifyInstance } from 'fastify';
import { routerDocs } from '../api-docs.js';
import type { HostBook } from '../hosts/book.js';
import { type Timeline, type TimelineQuery, validSince } from './ring.js';

/** `GET /v1/timeline` and `GET /v1/hosts`: both fed by lb/timeline/feed.ts. */
export function timelineRoutes(app: FastifyInstance, timeline: Timeline, hosts: HostBook): void {
  app.get<{ Querystring: TimelineQuery }>('/v1/timeline', { schema: routerDocs.timeline }, async (request, reply) => {
    const query = request.query;
    if (!validSince(query.since)) return reply.code(400).send({ error: 'since: an event id or an ISO-8601 time', since: query.since });
    return { events: timeline.query(query), capacity: timeline.capacity };
  });
  app.get('/v1/hosts', { schema: routerDocs.hosts }, async () => ({ hosts: hosts.list() }));
}
