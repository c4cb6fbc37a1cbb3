// Service and Route specs as `fabric apply` reads them (and as etcd then holds them), with traffic
// policies: mostly valid, each field at times a near miss or hostile.
import fc from 'fast-check';
import { stringify } from 'yaml';
import { domains, serviceNames } from './endpoint-gen.js';
import { hostileString, junk, nearly, nearlyInt } from './hostile.js';

const durations = fc.oneof(
  fc.constantFrom('2s', '500ms', '1m', '1h', '100ms', '1.5s', '0s'),
  fc.integer({ min: 1, max: 3_600_000 }),
  fc.double({ min: 1, max: 3_600_000, noNaN: true }),
);
const policyPaths = fc.constantFrom('/api', '/a/b', '/x_y~z.1', '/v-2');
const headerNames = fc.oneof(fc.constantFrom('X-Env', 'X-Frame-Options', 'Cache-Control', 'x-a', 'A'), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9-]{0,10}$/));
/** Printable ASCII a header value may hold, including the characters configs care about: % ; # { } ' */
const headerValues = fc.oneof(
  fc.constantFrom('prod', 'DENY', 'max-age=0; private', '100%', '{x}', "a'b", '#1', 'a b', '%[src]', '%%', '~', '<>', '!'),
  fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,30}[\x21-\x7e]$/),
);
/** Printable ASCII, newlines and tabs: what a maintenance page may hold. */
const pages = fc.oneof(
  fc.constantFrom('<h1 class="x">back\tsoon</h1>\n100% \\o/', '', '"', '\\', '\\"', '}\n{', ';#', "'", '%s %[src]'),
  fc.stringMatching(/^[\x20-\x7e\n\t]{0,80}$/),
);

/** `hostile`: fields at times near misses or junk; otherwise every field valid (but odd where allowed). */
function fieldOf(hostile: boolean, valid: fc.Arbitrary<unknown>, nearMiss: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  if (!hostile) return fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: fc.constant(undefined) });
  return fc.oneof(
    { weight: 10, arbitrary: valid },
    { weight: 2, arbitrary: nearMiss },
    { weight: 1, arbitrary: junk },
    { weight: 6, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constant(null) },
  );
}

function headerMap(hostile: boolean): fc.Arbitrary<Record<string, unknown>> {
  const name = hostile ? nearly(headerNames) : headerNames;
  const value = hostile
    ? fc.oneof({ weight: 3, arbitrary: headerValues }, { weight: 1, arbitrary: nearly(headerValues) }, { weight: 1, arbitrary: fc.constant(null) })
    : headerValues;
  return fc.array(fc.tuple(name, value), { maxLength: 4 }).map((pairs) => Object.fromEntries(pairs));
}

function withoutUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

/** bcrypt and SHA-512-crypt htpasswd lines (test/router/access-policies.test.ts). */
const USERS = [
  'alice:$2b$05$abcdefghijklmnopqrstuutXu9KzOt.1yBoZUeFWoT/914/JfszCO',
  'bob:$6$fabricsalt$JsMn.m0Fim23y86/jVDWLTbn2K4cb3LguAdCQhQiwPwOYr2t/GYHTUbgb49M68TLx7lKjPx8RQFHq88wcEsSv0',
];
const cidrs = fc.constantFrom('10.0.0.0/8', '127.0.0.1/32', '192.168.1.0/24', '0.0.0.0/0', 'fd00::/8', '2001:db8::/32', '::1/128');
const badCidrs = fc.oneof(fc.constantFrom('10.1.2.3/8', '300.0.0.0/8', '::1/129', '10.0.0.0', '10.0.0.0/8;', '*'), hostileString);
const errorCodes = fc.constantFrom('502', '503', '504');

/** The 13 policy fields of a Service or a Route spec, each valid, a near miss, junk or absent. */
function policyFields(hostile: boolean) {
  const field = (valid: fc.Arbitrary<unknown>, nearMiss: fc.Arbitrary<unknown>) => fieldOf(hostile, valid, nearMiss);
  const str = (valid: fc.Arbitrary<string>) => nearly(valid);
  return {
    redirect: field(
      fc.record(
        {
          scheme: fc.constantFrom('http', 'https'),
          host: fc.oneof(
            domains,
            domains.map((d) => `${d}:8443`),
          ),
          path: policyPaths,
          code: fc.constantFrom(301, 302, 307, 308),
        },
        { requiredKeys: ['scheme'] },
      ),
      fc.record({ host: str(domains), path: str(policyPaths), code: nearlyInt(301, 308) }, { requiredKeys: [] }),
    ),
    stripPrefix: field(policyPaths, str(policyPaths)),
    addPrefix: field(policyPaths, str(policyPaths)),
    headers: field(
      fc.record({ request: headerMap(false), response: headerMap(false) }, { requiredKeys: [] }),
      fc.record({ request: headerMap(true), response: headerMap(true) }, { requiredKeys: [] }),
    ),
    maintenance: field(
      fc.record({ enabled: fc.boolean(), page: pages }, { requiredKeys: ['enabled'] }),
      fc.record({ enabled: junk, page: fc.oneof(hostileString, pages) }),
    ),
    timeouts: field(
      fc.record({ connect: durations, server: durations, idle: durations }, { requiredKeys: ['connect'] }),
      fc.record({ server: fc.oneof(hostileString, junk) }),
    ),
    rateLimit: field(
      fc.record({ requests: fc.integer({ min: 1, max: 1_000_000 }), per: fc.constantFrom('1s', '10s', '1m', '1h', 1_000, 60_000) }),
      fc.record({ requests: fc.oneof(nearlyInt(1, 1_000_000), fc.constantFrom(0, -5)), per: fc.oneof(durations, hostileString) }, { requiredKeys: [] }),
    ),
    retries: field(fc.integer({ min: 0, max: 5 }), nearlyInt(0, 5)),
    basicAuth: field(
      fc.record({ realm: fc.constantFrom('ops', 'a.b_c-1'), users: fc.subarray(USERS, { minLength: 1 }) }),
      fc.record(
        {
          realm: str(fc.constant('ops')),
          users: fc.array(fc.oneof(fc.constantFrom(...USERS, 'carol:plaintext', 'dave:$apr1$x$y', 'erin:{SHA}abc='), hostileString), { maxLength: 3 }),
        },
        { requiredKeys: [] },
      ),
    ),
    allow: field(fc.array(cidrs, { minLength: 1, maxLength: 3 }), fc.array(fc.oneof(cidrs, badCidrs), { maxLength: 3 })),
    deny: field(fc.array(cidrs, { minLength: 1, maxLength: 3 }), fc.array(fc.oneof(cidrs, badCidrs), { maxLength: 3 })),
    maxBodySize: field(fc.constantFrom('1m', '512k', '1024m', 1, 1_048_576), fc.oneof(fc.constantFrom('0', -1, '1g', '1025m', '1.5m'), hostileString)),
    errorPages: field(
      fc.dictionary(errorCodes, pages, { maxKeys: 3 }),
      fc.dictionary(fc.oneof(errorCodes, fc.constantFrom('500', '404', '5030')), fc.oneof(pages, hostileString), { minKeys: 1, maxKeys: 3 }),
    ),
  };
}

export function serviceSpecObject(hostile: boolean, names: fc.Arbitrary<string> = serviceNames): fc.Arbitrary<Record<string, unknown>> {
  const field = (valid: fc.Arbitrary<unknown>, nearMiss: fc.Arbitrary<unknown>) => fieldOf(hostile, valid, nearMiss);
  const str = (valid: fc.Arbitrary<string>) => nearly(valid);
  return fc
    .record({
      kind: hostile ? fc.oneof(fc.constant('Service'), fc.constant('Service'), str(fc.constant('Service'))) : fc.constant('Service'),
      name: hostile ? fc.oneof({ weight: 5, arbitrary: names }, { weight: 1, arbitrary: str(names) }) : names,
      mode: field(fc.constantFrom('http', 'http', 'tcp'), str(fc.constant('http'))),
      domains: field(fc.array(domains, { maxLength: 3 }), fc.array(str(domains), { minLength: 1, maxLength: 2 })),
      paths: field(fc.array(policyPaths, { maxLength: 2 }), fc.array(str(policyPaths), { minLength: 1, maxLength: 2 })),
      balance: field(fc.constantFrom('roundrobin', 'leastconn', 'source'), str(fc.constant('leastconn'))),
      healthCheck: field(
        fc.record(
          { path: policyPaths, interval: durations, timeout: durations, rise: fc.integer({ min: 1, max: 100 }), fall: fc.integer({ min: 1, max: 100 }) },
          { requiredKeys: [] },
        ),
        fc.record({ path: str(policyPaths), interval: fc.oneof(durations, hostileString), rise: nearlyInt(1, 100) }, { requiredKeys: [] }),
      ),
      endpoints: field(
        fc.array(
          fc.record(
            {
              address: fc.constantFrom('127.0.0.1', '10.9.8.7', '::1', '2001:db8::5'),
              port: fc.integer({ min: 1, max: 65_535 }),
              weight: fc.integer({ min: 0, max: 256 }),
            },
            { requiredKeys: ['address', 'port'] },
          ),
          { maxLength: 3 },
        ),
        fc.array(fc.record({ address: str(fc.constant('10.0.0.1')), port: nearlyInt(1, 65_535) }), { minLength: 1, maxLength: 2 }),
      ),
      ...policyFields(hostile),
      extra: hostile
        ? fc.option(fc.tuple(fc.constantFrom('__proto__', 'constructor', 'basicAuth', 'rateLimit', 'unknown'), junk), { nil: undefined })
        : fc.constant(undefined),
    })
    .map(({ extra, ...fields }) => {
      const spec = withoutUndefined(fields);
      // fromEntries: a `__proto__` key stays an own key.
      return extra ? Object.fromEntries([...Object.entries(spec), extra]) : spec;
    });
}

export function routeSpecObject(
  hostile: boolean,
  services: fc.Arbitrary<string> = serviceNames,
  names: fc.Arbitrary<string> = serviceNames,
): fc.Arbitrary<Record<string, unknown>> {
  const field = (valid: fc.Arbitrary<unknown>, nearMiss: fc.Arbitrary<unknown>) => fieldOf(hostile, valid, nearMiss);
  return fc
    .record({
      kind: fc.constant('Route'),
      name: hostile ? nearly(names) : names,
      host: hostile ? nearly(domains) : domains,
      path: field(policyPaths, nearly(policyPaths)),
      sticky: field(fc.boolean(), junk),
      backends: hostile
        ? fc.oneof(fc.array(fc.record({ service: nearly(services), weight: nearlyInt(0, 256) }), { maxLength: 3 }), junk)
        : fc.array(
            fc.record({ service: services, version: fc.option(fc.constantFrom('v1', 'v2'), { nil: undefined }), weight: fc.integer({ min: 0, max: 256 }) }),
            { minLength: 1, maxLength: 3 },
          ),
      // The same 13 policies as a Service's (docs/routing.md, "Policies on Routes").
      ...policyFields(hostile),
    })
    .map(({ backends, ...rest }) => {
      const spec = withoutUndefined(rest);
      spec.backends = Array.isArray(backends)
        ? backends.map((b) => (typeof b === 'object' && b !== null ? withoutUndefined(b as Record<string, unknown>) : b))
        : backends;
      return spec;
    });
}

/** `fabric apply`'s input: YAML (or JSON, which YAML reads too) of 1-3 documents, or YAML-ish junk. */
export const applyText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .array(fc.oneof({ weight: 3, arbitrary: serviceSpecObject(false) }, { weight: 1, arbitrary: routeSpecObject(false) }), { minLength: 1, maxLength: 3 })
      .map((docs) => docs.map((d) => safeYaml(d)).join('---\n')),
  },
  {
    weight: 4,
    arbitrary: fc
      .array(fc.oneof(serviceSpecObject(true), routeSpecObject(true)), { minLength: 1, maxLength: 3 })
      .map((docs) => docs.map((d) => safeYaml(d)).join('---\n')),
  },
  { weight: 2, arbitrary: fc.oneof(serviceSpecObject(true), routeSpecObject(true)).map((d) => JSON.stringify(d)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'a: &a [*a]',
      'x: &x {a: *x}',
      // Billion laughs: yaml's alias count limit must refuse it, not expand it.
      'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nkind: Service\nname: web\n',
      'kind: Service\nname: web\nname: api\n',
      'kind: Service\nname: web\n__proto__: {mode: tcp}\n',
      'kind: Service\nname: web\n<<: {mode: tcp}\n',
      'kind: !!js/function "x"\nname: web\n',
      'kind: Service\nname: !!binary aGVsbG8=\n',
      '---\n---\n',
      '',
      '\t- x',
      `kind: Service\nname: web\ndomains: [${'a.io,'.repeat(100)}a.io]\n`,
      `${'- '.repeat(2_000)}x`,
      `${'['.repeat(2_000)}${']'.repeat(2_000)}`,
    ),
  },
  { weight: 1, arbitrary: hostileString },
);

function safeYaml(doc: Record<string, unknown>): string {
  try {
    return stringify(doc);
  } catch {
    return JSON.stringify(doc);
  }
}
