// Policies on Routes (docs/routing.md, "Policies on Routes"): the same renderers as a Service's,
// applied to the route's own backend (HAProxy) and locations (nginx).
import { describe, expect, it } from 'vitest';
import { unsupportedPolicyErrors } from '../../src/ctl/policy-targets.js';
import { routeSpecSchema } from '../../src/model/service.js';
import { desiredHaproxy } from '../haproxy/desired.js';
import { authFilePath, nginxAuthFiles, nginxPaths, nginxView } from '../nginx/view.js';
import { policyLimitations } from '../policy/limitations.js';
import { decodeEntry } from '../store.js';
import { endpointEntry, ep, modelOf, specEntry } from './fixtures.js';

const BCRYPT = '$2y$05$abcdefghijklmnopqrstuutXu9KzOt.1yBoZUeFWoT/914/JfszCO';

function model(routePolicies: Record<string, unknown>) {
  return modelOf([
    specEntry({ name: 'web', domains: ['www.example.com'], addPrefix: '/svc' }, 2),
    decodeEntry(
      'routes/canary',
      JSON.stringify({ name: 'canary', host: 'app.example.com', path: '/', backends: [{ service: 'web', weight: 1 }], ...routePolicies }),
      5,
    ),
    endpointEntry(ep('web', 'a', { port: 8001 })),
  ]);
}

describe('policies on a Route', () => {
  it("HAProxy: the route's backend carries the route's policy lines; the service's backend keeps its own", () => {
    const { desired } = desiredHaproxy(model({ stripPrefix: '/api', rateLimit: { requests: 5, per: '1s' } }), new Map());
    const route = desired.backends.find((b) => b.name === 'route_canary')!;
    expect(route.policy).toEqual([
      'stick-table type ipv6 size 100k expire 1000ms store http_req_rate(1000ms)',
      'http-request track-sc0 src',
      'http-request deny deny_status 429 if { sc_http_req_rate(0) gt 5 }',
      'http-request set-path / if { path /api }',
      'http-request set-path %[path,bytes(4)] if { path_beg /api/ }',
    ]);
    expect(desired.backends.find((b) => b.name === 'svc_web')!.policy).toEqual(['http-request set-path /svc%[path]']);
  });

  it("nginx: the route's location carries its policies, its zone and htpasswd file are named route_<name>", () => {
    const dir = '/var/lib/fabric/nginx';
    const paths = nginxPaths(`${dir}/nginx.conf`, dir);
    const m = model({ rateLimit: { requests: 5, per: '1s' }, basicAuth: { realm: 'ops', users: [`ops:${BCRYPT}`] } });
    const view = nginxView(m, paths, { http: '127.0.0.1:18081', workerShutdownTimeout: '30s' });
    const location = view.hosts.find((h) => h.name === 'app.example.com')!.locations[0]!;
    expect(location.route).toBe('canary');
    expect(location.rewrites).toEqual(['limit_req zone=fabric_rl_route_canary burst=4 nodelay;', 'limit_req_status 429;']);
    expect(location.access?.[1]).toMatch(new RegExp(`^auth_basic_user_file ${authFilePath(paths.auth, 'route_canary')};`));
    expect(view.rateLimitZones).toEqual(['limit_req_zone $binary_remote_addr zone=fabric_rl_route_canary:10m rate=5r/s;']);
    expect([...nginxAuthFiles(m, paths).keys()]).toEqual([`${dir}/auth/route_canary.htpasswd`]);
    const service = view.hosts.find((h) => h.name === 'www.example.com')!.locations[0]!;
    expect(service.rewrites).toEqual(['rewrite ^(.*)$ /svc$1 break;']);
  });

  it('a target that cannot apply a route policy is reported in status, and fabric apply refuses it', () => {
    const m = model({ stripPrefix: '/api' });
    expect(policyLimitations('file', m.services, m.weightedRoutes)).toEqual([
      'service web: addPrefix is not supported by file targets: this target serves it without',
      'route canary: stripPrefix is not supported by file targets: this target serves it without',
    ]);
    expect(policyLimitations('slb', m.services, m.weightedRoutes)).toEqual([]);
    const spec = routeSpecSchema.parse({ name: 'canary', host: 'app.example.com', backends: [{ service: 'web', weight: 1 }], stripPrefix: '/api' });
    const origin = { file: 'rules.yaml', document: 1 } as never;
    const errors = unsupportedPolicyErrors([{ kind: 'Route', name: 'canary', spec, origin }], [{ routerId: 'r1', targets: [{ name: 'conf', kind: 'file' }] }]);
    expect(errors.map((e) => `${e.label}: ${e.field}: ${e.reason}`)).toEqual([
      'Route canary: stripPrefix: not supported by file targets: target conf (file) of router r1 serves this route and cannot apply it',
    ]);
  });
});
