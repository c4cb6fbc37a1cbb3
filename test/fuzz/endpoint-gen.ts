// Endpoint values and keys as etcd could hold them: written by the agent, by another registrar or
// by hand. Mostly valid, each field sometimes a near miss or hostile; null = absent (src/model/nulls.ts).
import fc from 'fast-check';
import { CONTAINER_ID, HOST_NAME, SERVICE_NAME } from '../../src/grammar.js';
import { hostileString, junk, nearly, nearlyInt, oddJsonText } from './hostile.js';

export const serviceNames = fc.oneof(fc.constantFrom('web', 'api-2', 'a'), fc.stringMatching(SERVICE_NAME, { size: 'xsmall' }));
export const domains = fc.oneof(
  fc.constantFrom('web.example.com', 'WWW.Example.COM', 'a-b.c.d', 'x1.io', 'xn--bcher-kva.example'),
  fc.domain({ size: 'xsmall' }),
);
const addresses = fc.oneof(fc.constantFrom('127.0.0.1', '10.1.2.3', '::1', 'fe80::1', '::ffff:10.0.0.1', 'fe80::1%eth0', '2001:db8::1'), fc.ipV4(), fc.ipV6());
const paths = fc.constantFrom('/', '/api', '/a/b_c.d~e', '/x-y', '//', '/..');

/** One field: valid, a near miss, junk, absent (undefined) or null. */
function fieldOf(hostile: boolean, valid: fc.Arbitrary<unknown>, nearMiss: fc.Arbitrary<unknown>, optional = false): fc.Arbitrary<unknown> {
  const absent = [
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constant(null) },
  ];
  if (!hostile) return optional ? fc.oneof({ weight: 6, arbitrary: valid }, ...absent) : valid;
  return fc.oneof(
    { weight: 16, arbitrary: valid },
    { weight: 2, arbitrary: nearMiss },
    { weight: 1, arbitrary: junk },
    { weight: optional ? 4 : 1, arbitrary: fc.constant(undefined) },
    { weight: optional ? 2 : 1, arbitrary: fc.constant(null) },
  );
}

const str = (valid: fc.Arbitrary<string>) => nearly(valid);

/** Fields near misses and junk at times (`hostile`), or each valid, optional ones sometimes absent or null. */
export function endpointObject(hostile: boolean, services: fc.Arbitrary<string> = serviceNames): fc.Arbitrary<Record<string, unknown>> {
  const field = (valid: fc.Arbitrary<unknown>, nearMiss: fc.Arbitrary<unknown>, optional = false) => fieldOf(hostile, valid, nearMiss, optional);
  return fc
    .record({
      service: field(services, str(services)),
      host: field(fc.oneof(fc.constant('h1'), fc.stringMatching(HOST_NAME, { size: 'xsmall' })), str(fc.constant('h1'))),
      container: field(fc.oneof(fc.constant('abcdef012345'), fc.stringMatching(CONTAINER_ID, { size: 'xsmall' })), str(fc.constant('abcdef012345'))),
      name: field(fc.constantFrom('c-1', 'web.1_x', 'A'), str(fc.constant('c-1'))),
      address: field(addresses, str(addresses)),
      port: field(fc.integer({ min: 1, max: 65_535 }), nearlyInt(1, 65_535)),
      weight: field(fc.integer({ min: 0, max: 256 }), nearlyInt(0, 256)),
      version: field(fc.constantFrom('v1', 'v1.2_rc-3'), str(fc.constant('v1')), true),
      mode: field(fc.constantFrom('http', 'tcp'), str(fc.constant('http'))),
      domains: field(
        fc.array(domains, { maxLength: 3 }),
        fc.oneof(fc.array(str(domains), { minLength: 1, maxLength: 3 }), fc.constant(Array(65).fill('a.io'))),
      ),
      path: field(paths, str(paths), true),
      tls: field(fc.constantFrom('auto', 'none', 'my-cert.example'), str(fc.constant('my-cert')), true),
      health: field(fc.constantFrom('healthy', 'unhealthy', 'starting', 'none'), str(fc.constant('healthy'))),
      state: field(fc.constantFrom('up', 'draining'), str(fc.constant('up'))),
      check: field(
        fc.record({ path: field(paths, str(paths), true), intervalMs: field(fc.integer({ min: 100, max: 3_600_000 }), nearlyInt(100, 3_600_000), true) }),
        junk,
        true,
      ),
    })
    .chain((fields) =>
      fc.option(fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'extra', 'labels'), junk, { maxKeys: 2 }), { nil: undefined }).map((extra) => {
        // fromEntries: a `__proto__` key stays an own key, as JSON.parse would make it.
        const entries = Object.entries({ ...fields }).filter(([, v]) => v !== undefined);
        return Object.fromEntries([...Object.entries(hostile ? (extra ?? {}) : {}), ...entries]);
      }),
    );
}

/** A field as it would appear in a key (junk may have no prototype, so not String()). */
function text(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
}

/** The key an endpoint lives at, its own (mostly) or a near miss. */
export function endpointKey(value: Record<string, unknown>): fc.Arbitrary<string> {
  const own = `endpoints/${text(value.service)}/${text(value.host)}/${text(value.container)}`;
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(own) },
    { weight: 1, arbitrary: nearly(fc.constant(own)) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom('endpoints/', 'endpoints//', 'endpoints/web/', 'endpoints/web/h1/x/y'), hostileString).map(([a, b]) => a + b),
    },
  );
}

/** An endpoint key and the text etcd holds for it: canonical JSON, odd JSON or no JSON. */
export const endpointKv: fc.Arbitrary<{ key: string; text: string }> = endpointObject(true).chain((value) =>
  fc.record({
    key: endpointKey(value),
    text: fc.oneof({ weight: 8, arbitrary: fc.constant(JSON.stringify(value)) }, { weight: 2, arbitrary: oddJsonText(fc.constant(value)) }),
  }),
);

/** Bounded hostile text for other prefixes the router decodes (hosts, vips, routes, certs). */
export const otherKv: fc.Arbitrary<{ key: string; text: string }> = fc.record({
  key: fc
    .tuple(
      fc.constantFrom('hosts/', 'vips/', 'routes/', 'services/', 'certs/', 'acme/', 'status/routers/', ''),
      nearly(fc.constantFrom('h1', '10.0.0.1', 'web', '::1')),
    )
    .map(([p, k]) => p + k),
  text: fc.oneof(
    oddJsonText(fc.constant({ name: 'web' })),
    junk.map((v) => JSON.stringify(v) ?? 'null'),
    hostileString,
  ),
});
