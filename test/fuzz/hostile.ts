// Generators shared by the fuzz surfaces (test/fuzz/*.test.ts): values near a valid one and far
// from it. Hostile pieces are what would break a config line or a parser if it got through:
// CR/LF, NUL, quotes, `%`, `$`, `;`, `#`, braces, backslashes, unicode, prototype keys, very long
// strings, deep or odd JSON, numbers out of range.
import fc from 'fast-check';

export const HOSTILE_PIECES: readonly string[] = [
  '\r',
  '\n',
  '\r\n',
  '\0',
  '\t',
  ' ',
  '"',
  "'",
  '`',
  '%',
  '%[hdr(host)]',
  '$',
  ['$', '{HOME}'].join(''), // an environment variable to HAProxy (joined: not a template-string slip)
  '$host',
  ';',
  '#',
  '{',
  '}',
  '{{x}}',
  '\\',
  '\\n',
  '/',
  '..',
  ':',
  '@',
  '\u0085',
  '\u2028',
  '\u00e9',
  '\u0130',
  '\u212a',
  '😀',
  '\ufeff',
  '__proto__',
  'constructor',
];

export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'] as const;

const piece = fc.constantFrom(...HOSTILE_PIECES);

/** Strings with no structure: hostile pieces, any code points, or very long. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.oneof(piece, fc.string({ maxLength: 3 })), { minLength: 1, maxLength: 8 }).map((parts) => parts.join('')) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'null', 'undefined', 'NaN', '0', '-1', 'true') },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 100, max: 5_000 }), fc.constantFrom('a', 'é', '\n', '%')).map(([n, c]) => c.repeat(n)) },
);

/** A valid value, or that value with a hostile piece put before, inside or after it, or upper-cased. */
export function nearly(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: valid },
    {
      weight: 3,
      arbitrary: fc.tuple(valid, piece, fc.nat()).map(([v, p, at]) => {
        const i = at % (v.length + 1);
        return v.slice(0, i) + p + v.slice(i);
      }),
    },
    { weight: 1, arbitrary: valid.map((v) => v.toUpperCase()) },
    { weight: 1, arbitrary: hostileString },
  );
}

/** Numbers near and far from a range. */
export function nearlyInt(min: number, max: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min, max }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(min - 1, max + 1, 0, -0, 0.5, 1e21, -1e21, Number.MAX_SAFE_INTEGER + 2, Number.NaN, Number.POSITIVE_INFINITY, `${min}`, true),
    },
    { weight: 1, arbitrary: fc.double() },
  );
}

/** Any JSON-ish value, bounded in size, including prototype keys. */
export const junk: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    hostileString,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...PROTO_KEYS), fc.string({ maxLength: 4 })), tie('value'), { maxKeys: 3 }),
  ),
})).value;

/** JSON text that `JSON.stringify` never writes: duplicate keys, deep nesting, odd numbers, garbage. */
export function oddJsonText(valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string> {
  return fc.oneof(
    // A duplicate key: JSON.parse keeps the last one, which may be the hostile one.
    fc.tuple(valid, fc.string({ maxLength: 8 }), fc.oneof(hostileString, junk)).map(([v, k, bad]) => {
      const keys = Object.keys(v);
      const key = keys.length > 0 ? keys[k.length % keys.length]! : 'service';
      return `${JSON.stringify(v).slice(0, -1)}${keys.length > 0 ? ',' : ''}${JSON.stringify(key)}:${JSON.stringify(bad) ?? 'null'}}`;
    }),
    // A literal "__proto__" key: JSON.parse makes it an own property, not the prototype.
    fc.tuple(valid, junk).map(([v, bad]) => `{"__proto__":${JSON.stringify(bad) ?? 'null'},${JSON.stringify(v).slice(1)}`),
    fc.integer({ min: 1, max: 20_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
    fc.integer({ min: 1, max: 20_000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
    fc.constantFrom('', ' ', 'null', '[]', '{}', '"x"', '1e999', '-0', '{"port":1e400}', '{', '\ufeff{}', 'NaN', '{"a":1,}', '\0'),
    hostileString,
  );
}

/** Tries `fn`; the error it threw, or undefined. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err ?? new Error(`threw ${String(err)}`);
  }
}

/** How many cases per surface: FABRIC_FUZZ_RUNS for the long run, `bounded` in the normal suite. */
export function fuzzRuns(bounded: number): number {
  const fromEnv = Number(process.env.FABRIC_FUZZ_RUNS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : bounded;
}

/** A test's timeout for `runs` cases at about `msPerCase` each on a busy machine (never under 60 s). */
export function fuzzTimeout(runs: number, msPerCase: number): number {
  return Math.max(60_000, Math.ceil(runs * msPerCase * 4));
}
