import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadResources } from '../../src/ctl/documents.js';
import { unsupportedPolicyErrors } from '../../src/ctl/policy-targets.js';
import { unsupportedPolicies } from '../../src/model/policy/capabilities.js';
import { type Policies, policiesOf } from '../../src/model/policy/schema.js';
import { routeSpecSchema, serviceSpecSchema } from '../../src/model/service.js';
import { planPool } from '../haproxy/spares.js';
import { routePolicyLimitations } from '../policy/limitations.js';
import { haproxyPolicyLines } from '../policy/render-haproxy.js';
import { nginxPolicy } from '../policy/render-nginx.js';

const issues = (spec: Record<string, unknown>) => {
  const parsed = serviceSpecSchema.safeParse({ kind: 'Service', name: 'web', ...spec });
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('policy validation', () => {
  it('accepts redirect, stripPrefix and addPrefix in their grammar', () => {
    expect(issues({ redirect: { scheme: 'https', host: 'www.example.com', code: 301 } })).toEqual([]);
    expect(issues({ redirect: { host: 'www.example.com:8443' } })).toEqual([]);
    expect(issues({ redirect: { path: '/moved', code: 308 } })).toEqual([]);
    expect(issues({ stripPrefix: '/api', addPrefix: '/v1.2' })).toEqual([]);
  });

  it('refuses a redirect to a non-URL, codes that are not redirects, and an empty redirect', () => {
    expect(issues({ redirect: { host: 'not a host' } })).toEqual(['redirect.host: is not a host for a URL: a domain name, optionally :port']);
    expect(issues({ redirect: { host: 'evil.com/x' } })[0]).toMatch(/^redirect.host: /);
    expect(issues({ redirect: { host: 'a.com:99999' } })[0]).toMatch(/^redirect.host: /);
    expect(issues({ redirect: { scheme: 'javascript' } })[0]).toMatch(/^redirect.scheme: /);
    expect(issues({ redirect: { path: 'no-slash' } })[0]).toMatch(/^redirect.path: /);
    expect(issues({ redirect: { path: '/a%0d%0aSet-Cookie:x' } })[0]).toMatch(/^redirect.path: /);
    expect(issues({ redirect: { host: 'www.example.com', code: 200 } })).toEqual(['redirect.code: must be one of 301, 302, 307, 308']);
    expect(issues({ redirect: {} })).toEqual(['redirect: required: at least one of scheme, host, path']);
    expect(issues({ redirect: { host: 'a.com', extra: 1 } })[0]).toMatch(/^redirect: .*extra/);
  });

  it('refuses prefixes that are not a path below the root', () => {
    for (const bad of ['/', '/api/', 'api', '/a//b', '/a b', '/a;b', '/$x']) expect(issues({ stripPrefix: bad })[0]).toMatch(/^stripPrefix: /);
    expect(issues({ addPrefix: '/v1/' })[0]).toMatch(/^addPrefix: /);
  });

  it('headers: set and null removes; CR/LF and other control characters, quotes, backslashes, $ and the headers fabric sets refused', () => {
    expect(issues({ headers: { request: { 'X-Env': 'prod', 'X-Old': null }, response: { 'X-Frame-Options': 'DENY', Server: null } } })).toEqual([]);
    expect(issues({ headers: { response: { 'Content-Security-Policy': "default-src 'self'; img-src *; 100%" } } })).toEqual([]);
    expect(issues({ headers: { request: { 'X-A': 'a\r\nX-Injected: 1' } } })).toEqual([
      'headers.request.X-A: must not contain control characters (CR, LF, tab, …)',
    ]);
    expect(issues({ headers: { request: { 'X-A': 'a\tb' } } })[0]).toMatch(/control characters/);
    expect(issues({ headers: { request: { 'X-A': 'é' } } })[0]).toMatch(/printable ASCII/);
    expect(issues({ headers: { request: { 'X-A': '$host' } } })).toEqual(['headers.request.X-A: must not contain " \\ or $']);
    expect(issues({ headers: { request: { 'X-A': 'say "hi"' } } })[0]).toMatch(/must not contain/);
    expect(issues({ headers: { request: { 'X-A': ' padded' } } })[0]).toMatch(/leading or trailing/);
    expect(issues({ headers: { request: { 'X-A': '' } } })[0]).toMatch(/null removes/);
    expect(issues({ headers: { request: { 'Bad Name': 'x' } } })[0]).toMatch(/^headers\.request\.Bad Name: is not a header name/);
    expect(issues({ headers: { request: { 'X-Forwarded-For': '1.2.3.4' } } })[0]).toMatch(/is set by fabric on every request/);
    expect(issues({ headers: { request: { 'X-A': 'a', 'x-a': 'b' } } })[0]).toMatch(/given twice/);
    expect(issues({ headers: { both: {} } })[0]).toMatch(/^headers: /);
  });

  it('maintenance: a page of printable ASCII, newlines and tabs; $ and other control characters refused; disabled is no policy', () => {
    expect(issues({ maintenance: { enabled: true, page: '<h1 class="x">back\tsoon</h1>\n' } })).toEqual([]);
    expect(issues({ maintenance: { enabled: true, page: 'a\rb' } })[0]).toMatch(/^maintenance\.page: must be printable ASCII/);
    expect(issues({ maintenance: { enabled: true, page: '$host' } })).toEqual(['maintenance.page: must not contain $']);
    expect(issues({ maintenance: { page: 'x' } })[0]).toMatch(/^maintenance\.enabled: /);
    expect(policiesOf({ maintenance: { enabled: false, page: 'x' } })).toBeUndefined();
  });

  it('timeouts: durations from 1ms to 1h, at least one', () => {
    expect(issues({ timeouts: { connect: '2s', server: 30_000, idle: '500ms' } })).toEqual([]);
    expect(issues({ timeouts: { server: '-1s' } })[0]).toMatch(/^timeouts\.server: /);
    expect(issues({ timeouts: { server: '2h' } })[0]).toMatch(/^timeouts\.server: /);
    expect(issues({ timeouts: { server: 1.5 } })[0]).toMatch(/^timeouts\.server: must be whole milliseconds/);
    expect(issues({ timeouts: {} })).toEqual(['timeouts: required: at least one of connect, server, idle']);
    expect(haproxyPolicyLines(policiesOf({ timeouts: { connect: 2000, server: 300, idle: 1000 } }))).toEqual([
      'timeout connect 2000ms',
      'timeout server 300ms',
      'timeout http-keep-alive 1000ms',
    ]);
    expect(nginxPolicy({ name: 'web', policies: policiesOf({ timeouts: { server: 300 } }) }).rewrites).toEqual([
      'proxy_read_timeout 300ms;',
      'proxy_send_timeout 300ms;',
    ]);
  });

  it('refuses policies on a tcp service', () => {
    expect(issues({ mode: 'tcp', stripPrefix: '/api' })).toEqual(['stripPrefix: not possible on a tcp service: traffic policies act on HTTP requests']);
  });

  it('a Route takes the same fields, with the same reasons as a Service', () => {
    const backends = [{ service: 'web', weight: 1 }];
    for (const [field, value] of [
      ['stripPrefix', 'api'],
      ['allow', ['10.1.2.3/8']],
      ['rateLimit', { requests: -1, per: '1s' }],
    ] as const) {
      const route = routeSpecSchema.safeParse({ name: 'r', host: 'r.example.com', backends, [field]: value });
      const service = serviceSpecSchema.safeParse({ name: 'web', [field]: value });
      expect(route.success).toBe(false);
      expect(route.error?.issues.map((i) => [i.path, i.message])).toEqual(service.error?.issues.map((i) => [i.path, i.message]));
    }
    expect(routeSpecSchema.parse({ name: 'r', host: 'r.example.com', backends, stripPrefix: '/api' }).stripPrefix).toBe('/api');
  });

  it('fabric apply names document, field and reason', () => {
    const text = 'kind: Service\nname: web\nredirect: {host: "bad host", code: 301}\n';
    expect(() => loadResources([{ name: 'rules.yaml', text }])).toThrow(
      /rules\.yaml document 1 \(Service web, line 3\): redirect\.host: is not a host for a URL/,
    );
  });
});

describe('policy rendering', () => {
  const p = (spec: Policies) => policiesOf(spec);

  it('HAProxy: redirect first, then strip, then add', () => {
    expect(haproxyPolicyLines(p({ redirect: { scheme: 'https', host: 'www.example.com', code: 301 } }))).toEqual([
      'http-request redirect code 301 location https://www.example.com%[capture.req.uri]',
    ]);
    expect(haproxyPolicyLines(p({ redirect: { path: '/moved' } }))).toEqual([
      'http-request redirect code 302 location %[ssl_fc,iif(https,http)]://%[req.hdr(host)]/moved',
    ]);
    expect(haproxyPolicyLines(p({ stripPrefix: '/api', addPrefix: '/v1' }))).toEqual([
      'http-request set-path / if { path /api }',
      'http-request set-path %[path,bytes(4)] if { path_beg /api/ }',
      'http-request set-path /v1%[path]',
    ]);
  });

  it('headers: HAProxy set-header/del-header with % doubled; nginx proxy_set_header, proxy_hide_header + add_header always', () => {
    const headers = { request: { 'X-Env': 'a 100%', 'X-Old': null }, response: { 'X-Frame-Options': 'DENY', Server: null } };
    expect(haproxyPolicyLines(p({ headers }))).toEqual([
      'http-request set-header X-Env "a 100%%"',
      'http-request del-header X-Old',
      'http-response set-header X-Frame-Options "DENY"',
      'http-response del-header Server',
    ]);
    const nginx = nginxPolicy({ name: 'web', policies: p({ headers }) });
    expect(nginx.requestHeaders).toEqual(['proxy_set_header X-Env "a 100%";', 'proxy_set_header X-Old "";']);
    expect(nginx.responseHeaders).toEqual(['proxy_hide_header X-Frame-Options;', 'add_header X-Frame-Options "DENY" always;', 'proxy_hide_header Server;']);
  });

  it('maintenance answers before anything else, the page escaped in one quoted string', () => {
    const maintenance = { enabled: true, page: 'say "hi" \\ bye\n\tend' };
    expect(haproxyPolicyLines(p({ maintenance, redirect: { host: 'a.example.com' }, stripPrefix: '/api' }))).toEqual([
      'http-request return status 503 content-type text/html string "say \\"hi\\" \\\\ bye\\n\\tend"',
    ]);
    expect(nginxPolicy({ name: 'web', policies: p({ maintenance }) }).answer).toBe('default_type text/html; return 503 "say \\"hi\\" \\\\ bye\\n\\tend";');
  });

  it('nginx: a redirect answers even without endpoints; rewrites end in break', () => {
    expect(nginxPolicy({ name: 'web', policies: p({ redirect: { scheme: 'https', code: 308 } }) })).toMatchObject({
      answer: 'return 308 https://$http_host$request_uri;',
      rewrites: [],
    });
    expect(nginxPolicy({ name: 'web', policies: p({ stripPrefix: '/a.b', addPrefix: '/v1' }) }).rewrites).toEqual([
      'rewrite ^/a\\.b$ /v1/ break;',
      'rewrite ^/a\\.b(/.*)$ /v1$1 break;',
      'rewrite ^(.*)$ /v1$1 break;',
    ]);
  });

  it('no string fast-check makes up gets past the grammar into a line break or a token of its own', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom('/a\n/b', '/a;b', '/a b', '/a%[x]', '/a$x', '/a"b', '/a#b', '/a{b}'),
    );
    const prefixed = text.map((s) => `/${s}`);
    fc.assert(
      fc.property(
        fc.record({ host: text, path: fc.oneof(text, prefixed), strip: fc.oneof(text, prefixed), add: fc.oneof(text, prefixed), scheme: text }),
        ({ host, path, strip, add, scheme }) => {
          for (const spec of [
            { redirect: { host, path, scheme: 'https' } },
            { redirect: { scheme } },
            { redirect: { host: `${host}.example.com` } },
            { stripPrefix: strip, addPrefix: add },
            { stripPrefix: strip },
            { addPrefix: add },
            { headers: { request: { [host || 'X']: path }, response: { 'X-R': strip } } },
          ]) {
            const parsed = serviceSpecSchema.safeParse({ name: 'web', ...spec });
            if (!parsed.success) continue;
            const policies = policiesOf(parsed.data);
            const values = [parsed.data.redirect?.host, parsed.data.redirect?.path, parsed.data.stripPrefix, parsed.data.addPrefix].filter(
              (v) => v !== undefined,
            );
            for (const value of values) expect(value).toMatch(/^[A-Za-z0-9._~/:-]+$/);
            const headerValues = Object.values({ ...parsed.data.headers?.request, ...parsed.data.headers?.response }).filter(
              (v): v is string => typeof v === 'string',
            );
            for (const value of headerValues) expect(value).toMatch(/^[\x20-\x7e]+$/);
            for (const value of headerValues) expect(value).not.toMatch(/["\\$]/);
            const haproxy = haproxyPolicyLines(policies);
            // Outside the one quoted header value a line may hold: no quote, backslash or comment.
            const unquoted = (line: string) => line.replace(/ "[^"]*"$/, '');
            for (const line of haproxy) expect(line).not.toMatch(/\p{Cc}/u);
            for (const line of haproxy) expect(unquoted(line)).not.toMatch(/["'\\#]/);
            // Each value is printed as it was admitted: nothing dropped, nothing re-encoded.
            for (const value of values) expect(haproxy.join('\n')).toContain(value);
            const nginx = nginxPolicy({ name: 'web', policies: policies });
            for (const line of [nginx.answer, ...nginx.rewrites, ...nginx.requestHeaders, ...nginx.responseHeaders].filter((l): l is string => l !== null)) {
              expect(line).not.toMatch(/\p{Cc}/u);
              if (line.includes('"')) {
                expect(line).toMatch(/^[a-z_]+ [A-Za-z0-9-]+ "[^"\\$]*"( always)?;$/);
                continue;
              }
              // The one backslash nginx gets is the regex escape of a dot.
              expect(line.replaceAll('\\.', '.')).not.toMatch(/[\p{Cc}"'\\#{}]|;./u);
              expect(line.endsWith(';')).toBe(true);
            }
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('maintenance page escaping', () => {
  it('any page fast-check makes up is refused, or printed as one quoted string that reads back as the page', () => {
    const quoted = /"((?:[^"\\$\p{Cc}]|\\.)*)"/u;
    const readBack = (s: string) => s.replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', t: '\t' })[c] ?? c);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom('a"\n;}#', '\\"', 'x\r\ny')), (page) => {
        const parsed = serviceSpecSchema.safeParse({ name: 'web', maintenance: { enabled: true, page } });
        if (!parsed.success) return;
        const [line] = haproxyPolicyLines(policiesOf(parsed.data));
        const answer = nginxPolicy({ name: 'web', policies: policiesOf(parsed.data) }).answer!;
        expect(answer).toMatch(new RegExp(`^default_type text/html; return 503 ${quoted.source};$`, 'u'));
        // HAProxy refuses `string ""`: an empty page is an answer without a body.
        if (page === '') return void expect(line).toBe('http-request return status 503');
        expect(line).toMatch(new RegExp(`^http-request return status 503 content-type text/html string ${quoted.source}$`, 'u'));
        expect(readBack(quoted.exec(line!)![1]!)).toBe(page);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('policy capabilities', () => {
  it('HAProxy and nginx apply the built policies; file, confd and SLB targets do not', () => {
    const policies = { redirect: { host: 'a.example.com' }, stripPrefix: '/api' };
    expect(unsupportedPolicies('haproxy', policies)).toEqual([]);
    expect(unsupportedPolicies('nginx', policies)).toEqual([]);
    expect(unsupportedPolicies('file', policies).map((u) => u.policy)).toEqual(['redirect', 'stripPrefix']);
    // An SLB target serves only services with an slb id.
    expect(unsupportedPolicies('slb', policies, {})).toEqual([]);
    expect(unsupportedPolicies('slb', policies, { slb: 'lb-1' })[0]?.reason).toBe('not supported by slb targets');
  });

  it('fabric apply: one error per policy and target that cannot apply it', () => {
    const resources = loadResources([{ name: 'r.yaml', text: 'kind: Service\nname: web\nstripPrefix: /api\n---\nkind: Service\nname: plain\n' }]);
    const errors = unsupportedPolicyErrors(resources, [
      {
        routerId: 'r1',
        targets: [
          { name: 'haproxy', kind: 'haproxy' },
          { name: 'conf', kind: 'file' },
        ],
      },
    ]);
    expect(errors.map((e) => `${e.label}: ${e.field}: ${e.reason}`)).toEqual([
      'Service web: stripPrefix: not supported by file targets: target conf (file) of router r1 serves this service and cannot apply it',
    ]);
  });
});

describe('policies and Routes', () => {
  const service = (name: string, spec: Record<string, unknown>) =>
    ({ name, mode: 'http', balance: 'roundrobin', domains: [], paths: [], endpoints: [], spec: { name, ...spec } }) as any;
  const route = (name: string, active: boolean) =>
    ({
      name,
      active,
      spec: {
        backends: [
          { service: 'api', weight: 1 },
          { service: 'plain', weight: 1 },
        ],
      },
    }) as any;

  it("a Route to a service with policies says, for every target, that the route's policies apply there, not the service's", () => {
    const services = [service('api', { stripPrefix: '/api' }), service('plain', {})];
    expect(routePolicyLimitations([route('canary', true), route('lost', false)], services)).toEqual([
      "route canary: its traffic to service api goes with the route's traffic policies, not the service's (a Route applies its own: docs/routing.md)",
    ]);
    expect(routePolicyLimitations(undefined, services)).toEqual([]);
  });

  it('a Route to an h2c service says it speaks HTTP/1.1 there', () => {
    const services = [service('api', {}), service('plain', { proto: 'h2c' })];
    expect(routePolicyLimitations([route('grpc', true)], services)).toEqual([
      "route grpc: speaks HTTP/1.1 to service plain's endpoints, not its proto h2c (gRPC through a Route is not supported: docs/routing.md)",
    ]);
  });
});

describe('spare backends and policies', () => {
  const http = (name: string, policy?: string[]) => ({ name, mode: 'http' as const, balance: 'roundrobin' as const, ...(policy ? { policy } : {}) });
  const settings = { spares: 2 };

  it('a new service with policies never takes a plain spare: it gets its own backend through a reload, and no spares of its kind are laid out', () => {
    const first = planPool(undefined, [http('a')], settings, false);
    const plain = planPool(first.pool, [http('a'), http('b')], settings, false);
    expect(plain.compacted).toBe(false);
    const withPolicy = planPool(plain.pool, [http('a'), http('b'), http('c', ['http-request set-path /v1%[path]'])], settings, false);
    expect(withPolicy.compacted).toBe(true);
    expect(withPolicy.pool.entries.map((e) => [e.name, e.service])).toEqual([
      ['svc_a', 'a'],
      ['svc_b', 'b'],
      ['svc_c', 'c'],
      ['spare_http_roundrobin_1', undefined],
      ['spare_http_roundrobin_2', undefined],
    ]);
  });

  it('a changed policy reloads; the same policy again does not', () => {
    const one = planPool(undefined, [http('c', ['x'])], settings, false);
    expect(planPool(one.pool, [http('c', ['x'])], settings, false)).toEqual({ pool: one.pool, compacted: false });
    const changed = planPool(one.pool, [http('c', ['y'])], settings, false);
    expect(changed.compacted).toBe(true);
    expect(changed.pool.entries[0]).toMatchObject({ name: 'svc_c', service: 'c', policy: ['y'] });
    // Policies dropped: the service is a plain kind again, and may take a plain spare without a reload.
    const dropped = planPool(changed.pool, [http('c')], settings, false);
    expect(dropped.compacted).toBe(false);
    expect(dropped.pool.entries.find((e) => e.service === 'c')?.name).toMatch(/^spare_http_roundrobin_/);
  });
});
