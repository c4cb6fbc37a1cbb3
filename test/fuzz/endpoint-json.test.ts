// Fuzz surface 2: endpoint values and keys read from etcd, as the router decodes them
// (src/model/entry.ts → src/model/endpoint-decode.ts). Whatever etcd holds, decoding never crashes:
// a bad value is refused with a FabricError naming the key and a reason, and an accepted endpoint
// holds only tokens a config can print as they are. FABRIC_FUZZ_RUNS=100000 for the long run.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { FabricError } from '../../src/errors.js';
import { decodeEndpoint } from '../../src/model/endpoint-decode.js';
import { decodeEntry } from '../../src/model/entry.js';
import { endpointKv, otherKv } from './endpoint-gen.js';
import { fuzzRuns, fuzzTimeout, thrown } from './hostile.js';
import { assertFuzz, printTallies, tally } from './tally.js';

/** What a config may print bare (lb/haproxy/view.ts's SAFE, plus `~` of paths). */
const TOKEN = /^[A-Za-z0-9._:/[\]@~-]*$/;

/** Every string inside `value`, with where it sits. */
function strings(value: unknown, at = ''): Array<[string, string]> {
  if (typeof value === 'string') return [[at, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${at}[${i}]`));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => strings(v, `${at}.${k}`));
  return [];
}

const runs = fuzzRuns(1_000);
afterAll(printTallies);

describe('fuzz: endpoint JSON from etcd', () => {
  it(
    'decodeEndpoint accepts printable tokens only, or refuses with FABRIC_ERR_DECODE and a reason',
    () => {
      const t = tally('endpoint JSON (decodeEndpoint)');
      assertFuzz(
        t,
        endpointKv,
        ({ key, text }) => {
          let endpoint: ReturnType<typeof decodeEndpoint> | undefined;
          const err = thrown(() => {
            endpoint = decodeEndpoint(key, text);
          });
          if (err !== undefined) {
            t.rejected++;
            expect(err).toBeInstanceOf(FabricError);
            expect((err as FabricError).code).toBe('FABRIC_ERR_DECODE');
            expect((err as FabricError).message.slice(key.length + 2).trim()).not.toBe('');
            return;
          }
          t.accepted++;
          for (const [at, s] of strings(endpoint)) expect(TOKEN.test(s), `${at} = ${JSON.stringify(s)}`).toBe(true);
          expect(Number.isInteger(endpoint!.port) && endpoint!.port >= 1 && endpoint!.port <= 65_535).toBe(true);
          expect(Object.getPrototypeOf(endpoint)).toBe(Object.prototype);
          expect(Object.hasOwn(endpoint!, '__proto__') || Object.hasOwn(endpoint!, 'constructor')).toBe(false);
        },
        runs,
      );
    },
    fuzzTimeout(runs, 0.5),
  );

  it(
    'decodeEntry never throws: every key is an entry, an invalid one with its reason',
    () => {
      const t = tally('etcd keys (decodeEntry)');
      assertFuzz(
        t,
        fc.oneof(endpointKv, otherKv),
        ({ key, text }) => {
          const entry = decodeEntry(key, text, 1);
          if (entry.kind === 'invalid') {
            t.rejected++;
            expect(entry.error.trim()).not.toBe('');
            // A crash inside a decoder would surface here as its message: none may be a JS runtime error.
            expect(entry.error).not.toMatch(/is not a function|Cannot read prop|undefined is not|Maximum call stack|is not iterable/);
            return;
          }
          t.accepted++;
          if (entry.kind === 'endpoint') {
            expect(key).toBe(`endpoints/${entry.endpoint.service}/${entry.endpoint.host}/${entry.endpoint.container}`);
            for (const [at, s] of strings(entry.endpoint)) expect(TOKEN.test(s), `${at} = ${JSON.stringify(s)}`).toBe(true);
          }
        },
        runs,
      );
    },
    fuzzTimeout(runs, 0.5),
  );
});
