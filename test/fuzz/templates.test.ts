// Fuzz surface 5: values reaching the templates. A model is built from fuzzed inputs the router
// accepts (endpoint JSON, Service and Route specs with policies, decoded by src/model/entry.ts) and
// rendered by the default HAProxy and nginx templates on the router's own path (render-files.ts).
// Properties: rendering never throws; every line keeps the shape the template gives it (quotes
// closed, nginx braces and `;` balanced, no control characters); no directive appears that a
// baseline render of every feature lacks; the maps hold two tokens a line. A sample of the renders
// (FABRIC_FUZZ_CHECKS, default 20) also goes through `haproxy -c` and `nginx -t`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, type Model } from '../../lb/model.js';
import { decodeEntry, type Entry } from '../../src/model/entry.js';
import { haproxyShape, mapProblems, nginxShape } from './config-shape.js';
import { endpointObject } from './endpoint-gen.js';
import { fuzzRuns, fuzzTimeout } from './hostile.js';
import { createRenderer, type Rendered, type Renderer } from './render-files.js';
import { routeSpecObject, serviceSpecObject } from './spec-gen.js';
import { assertFuzz, printTallies, tally } from './tally.js';

const names = fc.constantFrom('web', 'api', 'db', 'a-1');
const modelInput = fc.record({
  endpoints: fc.array(fc.oneof({ weight: 4, arbitrary: endpointObject(false, names) }, { weight: 1, arbitrary: endpointObject(true, names) }), {
    maxLength: 6,
  }),
  services: fc.array(fc.oneof({ weight: 4, arbitrary: serviceSpecObject(false, names) }, { weight: 1, arbitrary: serviceSpecObject(true, names) }), {
    maxLength: 3,
  }),
  routes: fc.array(routeSpecObject(false, names, fc.constantFrom('r1', 'r2')), { maxLength: 2 }),
  domain: fc.constantFrom('apps.test', undefined),
});
type ModelInput = typeof modelInput extends fc.Arbitrary<infer T> ? T : never;

function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The entries the router would hold for these values: only the ones it decodes (the rest are reported, never rendered). */
function acceptedEntries(input: ModelInput): Entry[] {
  const raw: Array<[string, string]> = [
    ...input.endpoints.map((e): [string, string] => [`endpoints/${text(e.service)}/${text(e.host)}/${text(e.container)}`, JSON.stringify(e)]),
    ...input.services.map((s): [string, string] => [`services/${text(s.name)}`, JSON.stringify(s)]),
    ...input.routes.map((r): [string, string] => [`routes/${text(r.name)}`, JSON.stringify(r)]),
  ];
  const byKey = new Map(raw);
  return [...byKey].map(([key, value], i) => decodeEntry(key, value, i + 1)).filter((e) => e.kind !== 'invalid');
}

function modelOf(input: ModelInput): Model {
  return buildModel(acceptedEntries(input), 10, { domain: input.domain });
}

/** The access, flow, body and error-page policies, as a Service and a Route both carry them. */
const GUARDS = {
  basicAuth: { realm: 'ops', users: ['alice:$2b$05$abcdefghijklmnopqrstuutXu9KzOt.1yBoZUeFWoT/914/JfszCO'] },
  allow: ['10.0.0.0/8', 'fd00::/8'],
  deny: ['10.1.0.0/16'],
  rateLimit: { requests: 10, per: 1000 },
  retries: 2,
  maxBodySize: 1024,
  errorPages: { 502: 'a', 503: 'b', 504: 'c' },
};

/** A model with every feature the templates print: both modes, balances, checks, routes, each policy. */
function baselineModel(): Model {
  const ep = (service: string, container: string, extra: Record<string, unknown> = {}) => ({
    service,
    host: 'h1',
    container,
    name: container,
    address: '10.0.0.1',
    port: 8080,
    weight: 10,
    mode: 'http',
    domains: [],
    health: 'healthy',
    state: 'up',
    ...extra,
  });
  const specs = [
    {
      name: 'web',
      domains: ['web.example.com'],
      paths: ['/api'],
      balance: 'leastconn',
      healthCheck: { path: '/health', interval: 2000, timeout: 500, rise: 2, fall: 3 },
    },
    {
      name: 'api',
      balance: 'source',
      headers: { request: { 'X-A': 'b', 'X-R': null }, response: { 'X-B': '100%', 'X-G': null } },
      stripPrefix: '/v1',
      addPrefix: '/x',
    },
    { name: 'db', mode: 'tcp', vip: 'none', port: 5432, endpoints: [{ address: '10.0.0.9', port: 5432 }] },
    { name: 'a-1', redirect: { scheme: 'https', host: 'x.example.com:8443', path: '/p', code: 301 }, timeouts: { connect: 1000, server: 2000, idle: 3000 } },
    { name: 'maint', domains: ['m.example.com'], maintenance: { enabled: true, page: 'back "soon"\n' } },
    { name: 'redir-only', redirect: { path: '/p' } },
    { name: 'm2', maintenance: { enabled: true } },
    { name: 'slow', timeouts: { connect: 1000, server: 2000, idle: 3000 }, endpoints: [{ address: '10.0.0.8', port: 80 }] },
    {
      name: 'guard',
      domains: ['g.example.com'],
      endpoints: [{ address: '10.0.0.7', port: 80 }],
      ...GUARDS,
    },
  ];
  const entries = [
    ...specs.map((s, i) => decodeEntry(`services/${s.name}`, JSON.stringify(s), i + 1)),
    decodeEntry('endpoints/web/h1/c1', JSON.stringify(ep('web', 'c1', { version: 'v1', path: '/api', check: { path: '/h', intervalMs: 1000 } })), 20),
    decodeEntry('endpoints/web/h1/c2', JSON.stringify(ep('web', 'c2', { version: 'v2', state: 'draining' })), 21),
    decodeEntry('endpoints/api/h1/c3', JSON.stringify(ep('api', 'c3', { address: '::1', health: 'unhealthy', domains: ['api.example.com'] })), 22),
    decodeEntry('endpoints/api/h1/c8', JSON.stringify(ep('api', 'c8', { address: '::1', port: 81 })), 27),
    decodeEntry('endpoints/db/h1/c4', JSON.stringify(ep('db', 'c4', { mode: 'tcp' })), 23),
    decodeEntry('endpoints/a-1/h1/c5', JSON.stringify(ep('a-1', 'c5', { health: 'starting' })), 24),
    decodeEntry('endpoints/maint/h1/c6', JSON.stringify(ep('maint', 'c6')), 25),
    decodeEntry('endpoints/solo/h1/c7', JSON.stringify(ep('solo', 'c7', { health: 'none', weight: 0 })), 26),
    decodeEntry(
      'routes/r1',
      JSON.stringify({
        name: 'r1',
        host: 'r.example.com',
        path: '/r',
        sticky: true,
        // Policies on a Route: the same lines in its backend and locations as on a Service.
        ...GUARDS,
        headers: { request: { 'X-A': 'b', 'X-R': null }, response: { 'X-B': '100%', 'X-G': null } },
        stripPrefix: '/v1',
        addPrefix: '/x',
        timeouts: { connect: 1000, server: 2000, idle: 3000 },
        backends: [
          { service: 'web', version: 'v1', weight: 90 },
          { service: 'web', version: 'v2', weight: 10 },
        ],
      }),
      30,
    ),
    decodeEntry('routes/r2', JSON.stringify({ name: 'r2', host: 'r2.example.com', backends: [{ service: 'nothing', weight: 1 }] }), 31),
    decodeEntry(
      'routes/r3',
      JSON.stringify({ name: 'r3', host: 'r3.example.com', backends: [{ service: 'web', weight: 1 }], maintenance: { enabled: true, page: 'x' } }),
      32,
    ),
    decodeEntry(
      'routes/r4',
      JSON.stringify({ name: 'r4', host: 'r4.example.com', backends: [{ service: 'web', weight: 1 }], redirect: { scheme: 'https', path: '/p', code: 308 } }),
      33,
    ),
  ];
  for (const e of entries) if (e.kind === 'invalid') throw new Error(`baseline entry ${e.key}: ${e.error}`);
  return buildModel(entries, 10, { domain: 'apps.test' });
}

const runs = fuzzRuns(300);
const CHECKS = Number(process.env.FABRIC_FUZZ_CHECKS) || 20;
let work: string;
let renderer: Renderer;
let baseline: { haproxy: Set<string>; nginx: Set<string> };

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-fuzz-templates-'));
  renderer = await createRenderer(work);
  const rendered = renderer.render(baselineModel());
  const h = haproxyShape(rendered.haproxy.config);
  const n = nginxShape(rendered.nginx);
  expect(h.problems).toEqual([]);
  expect(n.problems).toEqual([]);
  baseline = { haproxy: h.directives, nginx: n.directives };
});
afterAll(() => {
  printTallies();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('fuzz: values reaching the HAProxy and nginx templates', () => {
  it(
    'every accepted input renders, keeps the shape of the template and adds no directive; a sample passes haproxy -c and nginx -t',
    async () => {
      const t = tally('templates (HAProxy + nginx)');
      const sample: Array<{ input: ModelInput; rendered: Rendered }> = [];
      const every = Math.max(1, Math.floor(runs / (CHECKS + 5)));
      let seen = 0;
      assertFuzz(
        t,
        modelInput,
        (input) => {
          const model = modelOf(input);
          const served = model.services.reduce((n, s) => n + s.endpoints.length, 0) + model.routes.length;
          if (served === 0 && model.services.length === 0) t.rejected++;
          else t.accepted++;
          const rendered = renderer.render(model);
          const h = haproxyShape(rendered.haproxy.config);
          const n = nginxShape(rendered.nginx);
          const injected = [
            ...h.problems,
            ...n.problems,
            ...mapProblems(rendered.haproxy.hostsMap),
            ...mapProblems(rendered.haproxy.pathsMap),
            ...mapProblems(rendered.haproxy.acmeMap),
            ...[...h.directives].filter((d) => !baseline.haproxy.has(d)).map((d) => `haproxy: unexpected directive ${JSON.stringify(d)}`),
            ...[...n.directives].filter((d) => !baseline.nginx.has(d)).map((d) => `nginx: unexpected directive ${JSON.stringify(d)}`),
          ];
          t.injected += injected.length;
          expect(injected, JSON.stringify(input)).toEqual([]);
          if (served > 0 && seen++ % every === 0 && sample.length < CHECKS) sample.push({ input, rendered });
        },
        runs,
      );
      for (const { input, rendered } of sample) {
        await expect(renderer.checkHaproxy(rendered.haproxy), JSON.stringify(input)).resolves.toBeUndefined();
        t.haproxyChecked++;
        await expect(renderer.checkNginx(rendered.nginx), JSON.stringify(input)).resolves.toBeUndefined();
        t.nginxChecked++;
      }
      expect(t.haproxyChecked).toBeGreaterThan(0);
    },
    fuzzTimeout(runs, 10) + CHECKS * 2_000,
  );
});
