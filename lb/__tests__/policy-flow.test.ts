// rateLimit and retries (src/model/policy/rate-limit.ts, retries.ts; lb/policy): the grammar, the
// nginx rate conversion, and the lines each renderer writes. Real traffic: test/router/policy-flow.test.ts.
import { describe, expect, it } from 'vitest';
import { unsupportedPolicies } from '../../src/model/policy/capabilities.js';
import { nginxRate } from '../../src/model/policy/rate-limit.js';
import { policiesOf } from '../../src/model/policy/schema.js';
import { routeSpecSchema, serviceSpecSchema } from '../../src/model/service.js';
import { haproxyPolicyLines } from '../policy/render-haproxy.js';
import { nginxPolicy } from '../policy/render-nginx.js';

const issues = (spec: Record<string, unknown>) => {
  const parsed = serviceSpecSchema.safeParse({ kind: 'Service', name: 'web', ...spec });
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('rateLimit', () => {
  it('accepts requests 1..1e6 per whole seconds 1s..1h', () => {
    expect(issues({ rateLimit: { requests: 100, per: '10s' } })).toEqual([]);
    expect(issues({ rateLimit: { requests: 1, per: '1s' } })).toEqual([]);
    expect(issues({ rateLimit: { requests: 1_000_000, per: '1h' } })).toEqual([]);
  });

  it('refuses a zero, negative, fractional or huge rate, a period out of bounds, and unknown fields', () => {
    expect(issues({ rateLimit: { requests: -5, per: '10s' } })).toEqual(['rateLimit.requests: must be at least 1 (a zero or negative rate is refused)']);
    expect(issues({ rateLimit: { requests: 0, per: '10s' } })[0]).toMatch(/^rateLimit.requests: must be at least 1/);
    expect(issues({ rateLimit: { requests: 1.5, per: '10s' } })[0]).toMatch(/^rateLimit.requests: must be a whole number/);
    expect(issues({ rateLimit: { requests: 1_000_001, per: '10s' } })[0]).toMatch(/^rateLimit.requests: must be at most/);
    expect(issues({ rateLimit: { requests: 10, per: '500ms' } })[0]).toMatch(/^rateLimit.per: "500ms" is not a duration between 1s and 1h/);
    expect(issues({ rateLimit: { requests: 10, per: '2h' } })[0]).toMatch(/^rateLimit.per: /);
    expect(issues({ rateLimit: { requests: 10, per: '1500ms' } })).toEqual(['rateLimit.per: must be whole seconds (1s to 1h)']);
    expect(issues({ rateLimit: { requests: 10, per: '-10s' } })[0]).toMatch(/^rateLimit.per: /);
    expect(issues({ rateLimit: { requests: 10 } })[0]).toMatch(/^rateLimit.per: /);
    expect(issues({ rateLimit: { requests: 10, per: '1s', by: 'header' } })[0]).toMatch(/^rateLimit: .*by/);
    expect(issues({ mode: 'tcp', rateLimit: { requests: 10, per: '1s' } })).toEqual([
      'rateLimit: not possible on a tcp service: traffic policies act on HTTP requests',
    ]);
  });

  it('converts requests/per to an nginx rate: r/s when whole, else r/m rounded up, never stricter', () => {
    expect(nginxRate({ requests: 100, per: 10_000 })).toEqual({ rate: '10r/s', burst: 99 });
    expect(nginxRate({ requests: 3, per: 2_000 })).toEqual({ rate: '90r/m', burst: 2 });
    expect(nginxRate({ requests: 5, per: 60_000 })).toEqual({ rate: '5r/m', burst: 4 });
    expect(nginxRate({ requests: 7, per: 3_600_000 })).toEqual({ rate: '1r/m', burst: 6 });
    expect(nginxRate({ requests: 1, per: 7_000 })).toEqual({ rate: '9r/m', burst: 0 });
  });

  it('renders an HAProxy stick table and 429, and nginx limit_req lines', () => {
    const policies = policiesOf({ rateLimit: { requests: 5, per: 10_000 } });
    expect(haproxyPolicyLines(policies)).toEqual([
      'stick-table type ipv6 size 100k expire 10000ms store http_req_rate(10000ms)',
      'http-request track-sc0 src',
      'http-request deny deny_status 429 if { sc_http_req_rate(0) gt 5 }',
    ]);
    expect(nginxPolicy({ name: 'api', policies }).rewrites).toEqual(['limit_req zone=fabric_rl_api burst=4 nodelay;', 'limit_req_status 429;']);
  });
});

describe('retries', () => {
  it('accepts 0..5 and refuses anything else', () => {
    for (const n of [0, 1, 5]) expect(issues({ retries: n })).toEqual([]);
    expect(issues({ retries: 9 })).toEqual(['retries: must be 0 to 5']);
    expect(issues({ retries: -1 })).toEqual(['retries: must be 0 to 5']);
    expect(issues({ retries: 1.5 })).toEqual(['retries: must be a whole number']);
    expect(issues({ retries: '2' })[0]).toMatch(/^retries: /);
  });

  it('renders HAProxy retries with retry-on, and nginx tries = retries + 1', () => {
    expect(haproxyPolicyLines(policiesOf({ retries: 2 }))).toEqual(['retries 2', 'retry-on conn-failure empty-response response-timeout 502 503 504']);
    expect(nginxPolicy({ name: 'web', policies: policiesOf({ retries: 0 }) }).rewrites).toEqual([
      'proxy_next_upstream error timeout http_502 http_503 http_504;',
      'proxy_next_upstream_tries 1;',
    ]);
  });

  it('is applied by HAProxy and nginx only, on Services and Routes', () => {
    const policies = policiesOf({ retries: 1, rateLimit: { requests: 1, per: 1_000 } });
    expect(unsupportedPolicies('haproxy', policies)).toEqual([]);
    expect(unsupportedPolicies('nginx', policies)).toEqual([]);
    expect(unsupportedPolicies('file', policies).map((u) => u.policy)).toEqual(['rateLimit', 'retries']);
    for (const field of [{ retries: 1 }, { rateLimit: { requests: 1, per: '1s' } }]) {
      const route = routeSpecSchema.safeParse({ name: 'r', host: 'r.example.com', backends: [{ service: 'web', weight: 1 }], ...field });
      expect(route.success).toBe(true);
    }
  });
});
