import type { FastifyInstance } from 'fastify';
import { routerDocs } from '../api-docs.js';
import type { Router } from '../router.js';
import { certsView } from './status.js';

/** `GET /v1/certs` (lb/tls/status.ts certsView): never a private key, nor the PEM chain. */
export function tlsRoutes(app: FastifyInstance, router: Router): void {
  app.get('/v1/certs', { schema: routerDocs.certs }, async () => certsView(router.model, [...router.targetList], router.vault));
}
