// The zod-free endpoint decoder (src/model/endpoint-decode.ts) against the zod schema it stands in
// for: on values near and far from valid, whatever it accepts zod accepts with the identical
// output (fields, order, lower-cased domains), and decodeEndpoint accepts and refuses exactly
// what zod does. On valid endpoints it takes the fast path.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONTAINER_ID, ENDPOINT_ID, HOST_NAME, PATH_PREFIX, SERVICE_NAME, VERSION } from '../../grammar.js';
import { endpointSchema } from '../endpoint.js';
import { decodeEndpoint, fastEndpoint } from '../endpoint-decode.js';

const junk = fc.oneof(fc.constant(null), fc.integer(), fc.string({ maxLength: 6 }), fc.constant([]), fc.constant({}), fc.boolean());
const validDomain = fc.constantFrom('example.com', 'WWW.Example.COM', 'a-b.c.d', 'x1.io');
const valid = {
  service: fc.oneof(fc.constantFrom('web', 'api-2'), fc.stringMatching(SERVICE_NAME)),
  host: fc.oneof(fc.constant('h1'), fc.stringMatching(HOST_NAME)),
  container: fc.oneof(
    fc.constant('abcdef012345'),
    fc.stringMatching(CONTAINER_ID),
    fc.constantFrom('vm-12.web', '127.0.0.1-9000'),
    fc.stringMatching(ENDPOINT_ID),
  ),
  name: fc.constantFrom('c-1', 'web.1_x', 'A'),
  address: fc.constantFrom('127.0.0.1', '::1', '10.1.2.3', 'fe80::1'),
  port: fc.integer({ min: 1, max: 65_535 }),
  weight: fc.integer({ min: 0, max: 256 }),
  version: fc.oneof(fc.constant('v1.2'), fc.stringMatching(VERSION)),
  mode: fc.constantFrom('http', 'tcp'),
  domains: fc.array(validDomain, { maxLength: 4 }),
  path: fc.oneof(fc.constant('/api'), fc.stringMatching(PATH_PREFIX)),
  tls: fc.constantFrom('auto', 'none', 'my-cert.example'),
  health: fc.constantFrom('healthy', 'unhealthy', 'starting', 'none'),
  state: fc.constantFrom('up', 'draining'),
  check: fc.record(
    { path: fc.constantFrom('/health', '/', null), intervalMs: fc.oneof(fc.integer({ min: 100, max: 3_600_000 }), fc.constant(null)) },
    { requiredKeys: [] },
  ),
};
// Near misses per field: wrong type, out of range, bad grammar, upper case, too many.
const invalid = {
  service: fc.constantFrom('Web', '-a', '', 'a_b', 'x'.repeat(64)),
  host: fc.constantFrom('', '-h', 'h 1'),
  container: fc.constantFrom('', '-abc', '_x', 'a b', 'a/b', 'a:b', 'a'.repeat(129)),
  name: fc.constantFrom('', '-x', 'a b', 'x'.repeat(129)),
  address: fc.constantFrom('localhost', '10.0.0.300', '', '1.2.3'),
  port: fc.oneof(fc.constantFrom(0, 65_536, 1.5, -1, '80'), fc.double()),
  weight: fc.constantFrom(-1, 257, 0.5, '1'),
  version: fc.constantFrom('', '.v', 'v 1', 'x'.repeat(64)),
  mode: fc.constantFrom('HTTP', 'udp', ''),
  domains: fc.oneof(
    fc.array(fc.constantFrom('localhost', 'a..b', '-a.com', 'x.', 'ÄÖ.de', 5 as unknown as string), { minLength: 1, maxLength: 3 }),
    fc.array(validDomain, { minLength: 65, maxLength: 66 }),
  ),
  path: fc.constantFrom('api', '/a b', '/ü', `/${'x'.repeat(255)}`),
  tls: fc.constantFrom('AUTO', '', '-x', 'a b'),
  health: fc.constantFrom('ok', 'Healthy', ''),
  state: fc.constantFrom('down', 'UP'),
  check: fc.oneof(
    fc.constant(null),
    fc.constant([]),
    fc.record({ path: fc.constantFrom('health', '/x y'), intervalMs: fc.constantFrom(99, 3_600_001, 1.5, '200') }, { requiredKeys: [] }),
  ),
};
type Field = keyof typeof valid;
const fields = Object.keys(valid) as Field[];
const optional = new Set<Field>(['version', 'path', 'tls', 'check']);

/** Each field valid, a near miss, junk or absent (required ones mostly present); sometimes unknown keys too. */
const anyValue = fc
  .tuple(
    fc.tuple(
      ...fields.map(
        (f): fc.Arbitrary<unknown> =>
          fc.oneof(
            { weight: 6, arbitrary: valid[f] },
            { weight: 1, arbitrary: invalid[f] },
            { weight: 1, arbitrary: junk },
            { weight: optional.has(f) ? 3 : 1, arbitrary: fc.constant(undefined) },
            { weight: optional.has(f) ? 2 : 1, arbitrary: fc.constant(null) },
          ),
      ),
    ),
    fc.option(fc.dictionary(fc.constantFrom('extra', 'labels', 'id', '__proto__'), junk, { maxKeys: 2 })),
  )
  .map(([values, extra]) => {
    const raw: Record<string, unknown> = { ...(extra ?? {}) };
    fields.forEach((f, i) => {
      if (values[i] !== undefined) raw[f] = values[i];
    });
    return JSON.parse(JSON.stringify(raw)) as unknown;
  });

const validValue = fc
  .tuple(...fields.map((f): fc.Arbitrary<unknown> => (optional.has(f) ? fc.option(valid[f] as fc.Arbitrary<unknown>, { nil: undefined }) : valid[f])))
  .map((values) => JSON.parse(JSON.stringify(Object.fromEntries(fields.map((f, i) => [f, values[i]])))) as unknown);

/** A valid endpoint with one field made a near miss, junk or absent: each boundary on its own. */
const oneBad = fc.tuple(validValue, fc.constantFrom(...fields), fc.nat()).chain(([raw, field, pick]) =>
  fc.oneof(invalid[field] as fc.Arbitrary<unknown>, junk, fc.constant(undefined)).map((bad) => {
    const out = { ...(raw as Record<string, unknown>) };
    if (bad === undefined && pick % 2 === 0) delete out[field];
    else out[field] = bad;
    return JSON.parse(JSON.stringify(out)) as unknown;
  }),
);

const KEY = 'endpoints/web/h1/abcdef012345';

describe('fastEndpoint, the zod-free endpoint decoder', () => {
  it('accepts only what zod accepts, with the identical output', () => {
    fc.assert(
      fc.property(fc.oneof(anyValue, oneBad), (raw) => {
        const zod = endpointSchema.safeParse(raw);
        const fast = fastEndpoint(raw);
        if (fast !== undefined) {
          expect(zod.success).toBe(true);
          expect(fast).toStrictEqual(zod.data);
          expect(JSON.stringify(fast)).toBe(JSON.stringify(zod.data));
        }
        let decoded: unknown;
        try {
          decoded = decodeEndpoint(KEY, JSON.stringify(raw));
        } catch {
          decoded = undefined;
        }
        expect(decoded !== undefined).toBe(zod.success);
        if (zod.success) expect(JSON.stringify(decoded)).toBe(JSON.stringify(zod.data));
      }),
      { numRuns: 5_000 },
    );
  });

  it('takes every valid endpoint itself (so zod is off the hot path)', () => {
    fc.assert(
      fc.property(validValue, (raw) => {
        const zod = endpointSchema.safeParse(raw);
        expect(zod.success).toBe(true);
        expect(fastEndpoint(raw)).toStrictEqual(zod.data);
      }),
      { numRuns: 1_000 },
    );
  });

  it('decodes null exactly as absent (other registrars write null for an unset field)', () => {
    const withNulls = fc.tuple(validValue, fc.subarray([...optional])).map(([raw, nulled]) => {
      const absent = { ...(raw as Record<string, unknown>) };
      const nulls = { ...absent };
      for (const f of nulled) {
        delete absent[f];
        nulls[f] = null;
      }
      return { absent, nulls };
    });
    fc.assert(
      fc.property(withNulls, ({ absent, nulls }) => {
        const expected = endpointSchema.parse(absent);
        expect(endpointSchema.parse(nulls)).toStrictEqual(expected);
        expect(fastEndpoint(nulls)).toStrictEqual(expected);
        expect(decodeEndpoint(KEY, JSON.stringify(nulls))).toStrictEqual(expected);
      }),
      { numRuns: 1_000 },
    );
  });

  it('takes endpoint ids other than Docker ids, within the grammar', () => {
    const base = { service: 'web', host: 'vm-1', name: 'a', address: '127.0.0.1', port: 80, weight: 1, mode: 'http', domains: [], health: 'none', state: 'up' };
    for (const id of ['vm-12.web', 'A', '127.0.0.1-9000', 'x'.repeat(128)]) expect(fastEndpoint({ ...base, container: id })?.container).toBe(id);
    for (const id of ['', '.x', 'a b', 'x'.repeat(129)]) expect(endpointSchema.safeParse({ ...base, container: id }).success).toBe(false);
  });

  it('refuses with zod’s message', () => {
    expect(() => decodeEndpoint(KEY, '{"service":"Web"}')).toThrow(/endpoints\/web\/h1\/abcdef012345: .*service/);
    expect(() => decodeEndpoint(KEY, 'not json')).toThrow(/not JSON/);
  });
});
