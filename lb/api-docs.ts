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

const fileParam = {
  type: 'object',
  properties: { file: { type: 'string', description: 'file name' } },
  required: ['file'],
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
    description:
      'The live dashboard (HTML shell; its modules under /dashboard/): problems, services with traffic, a page per service, the events timeline, hosts, routes, certificates, applies and issues (docs/dashboard.md).',
    tags: ['dashboard'],
  },
  dashboardFile: {
    summary: 'Dashboard file',
    description: "One of the dashboard's static files (ES modules and CSS under lb/dashboard/static/).",
    tags: ['dashboard'],
    params: fileParam,
  },
  dashboardVendor: {
    summary: 'Dashboard library file',
    description: 'uPlot (the charting library) as installed with fabric: `uPlot.esm.js`, `uPlot.min.css`.',
    tags: ['dashboard'],
    params: fileParam,
  },
  events: {
    summary: 'Live model events',
    description:
      'Server-sent events: a `snapshot` of services (a summary: counts, no endpoint arrays; left out of later snapshots while unchanged), routes, applies and issues on connect and on every change (at most one a second); `timeline` with `{events}` (new timeline events, newest first, at most 4 messages a second); a `traffic` event with the /v1/traffic summary at most every 2 s while it changes; comment heartbeats.',
    tags: ['dashboard'],
  },
  timeline: {
    summary: 'Events timeline',
    description:
      'Recent events, newest first, from a bounded ring (2,000): endpoint.registered|draining|removed, health.up|down, reload, runtime, apply.failed, validation.failed, cert.issued|renewed|failed, etcd.lost|restored, host.up|down. Each: id (increasing), at (ISO-8601), kind, service?, endpoint?, host?, route?, target?, message, detail?.',
    tags: ['router'],
    querystring: {
      type: 'object',
      properties: {
        service: { type: 'string', description: 'only events of this service' },
        kind: { type: 'string', description: 'comma list of kinds or prefixes (`endpoint` matches `endpoint.*`)' },
        since: { type: 'string', description: 'an event id (events after it) or an ISO-8601 time (events at or after it)' },
        limit: { type: 'integer', minimum: 1, maximum: 2000, default: 200, description: 'at most this many events' },
      },
    },
    response: { 200: looseObject('the events, newest first'), 400: looseObject('a bad query') },
  },
  hosts: {
    summary: 'Hosts',
    description:
      "Every agent's host the router has seen: address, alive (its host key is on a live lease), agent version, started, containers registered and rejected, when the record last changed. Hosts whose lease ended stay listed with alive: false.",
    tags: ['router'],
    response: { 200: looseObject('the hosts') },
  },
};
