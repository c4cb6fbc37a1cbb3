import { looseObject } from '../src/http.js';

/**
 * OpenAPI descriptions of the router's routes (served at /docs). Response
 * schemas stay loose, so fields added to a view still serialize.
 */
const nameParam = {
  type: 'object',
  properties: { name: { type: 'string', description: 'service name' } },
  required: ['name'],
};

export const routerDocs = {
  services: {
    summary: 'Services',
    description: 'Every service in the model: domains, paths, VIP, endpoints with their health and state.',
    tags: ['router'],
    response: { 200: looseObject('the model revision and its services') },
  },
  service: {
    summary: 'One service',
    description: 'Endpoints, health, VIP and domains of one service.',
    tags: ['router'],
    params: nameParam,
    response: { 200: looseObject('the service'), 404: looseObject('no such service') },
  },
  serviceHealth: {
    summary: 'Service health probe',
    description: '200 when at least one endpoint is healthy, else 503: for monitoring probes.',
    tags: ['router'],
    params: nameParam,
    response: { 200: looseObject('up'), 503: looseObject('down') },
  },
  routes: {
    summary: 'Routes',
    description: 'Declarative routes (host, path, weighted backends) in the model.',
    tags: ['router'],
    response: { 200: looseObject('the routes') },
  },
  serviceTraffic: {
    summary: 'Traffic of one service',
    description:
      'The `traffic` object of /v1/services/{name} plus `series`: 15 minutes at 5 s resolution (requests/s, responses by class per second, response time, sessions, queue, bytes), oldest first; each endpoint and route version with its own `series`. 404 when no such service; `traffic: null` when nothing samples traffic.',
    tags: ['router'],
    params: nameParam,
    response: { 200: looseObject('the service traffic with series'), 404: looseObject('no such service') },
  },
  traffic: {
    summary: 'Traffic summary',
    description: 'Every service: requests/s, 5xx share, response time, and the last 60 points (5 min) of requests/s and 5xx/s as sparklines.',
    tags: ['router'],
    response: { 200: looseObject('the traffic summary') },
  },
  certs: {
    summary: 'Certificates',
    description:
      'Every stored certificate: domains, issuer, validity, source, the hosts it serves and the targets serving it (never a private key); the hosts waiting for one (`wanted`); the default certificate.',
    tags: ['router'],
    response: { 200: looseObject('the certificates') },
  },
  dashboard: {
    summary: 'Dashboard',
    description: 'The live dashboard (HTML): services, endpoints, routes, applies and issues.',
    tags: ['dashboard'],
  },
  events: {
    summary: 'Live model events',
    description:
      'Server-sent events: a `snapshot` of services, routes, applies and issues on connect and on every change; a `traffic` event with the /v1/traffic summary at most every 2 s while it changes; comment heartbeats.',
    tags: ['dashboard'],
  },
};
