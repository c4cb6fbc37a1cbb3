// Fuzz surface 3: Service and Route specs (with traffic policies) as `fabric apply` reads them
// (src/ctl/documents.ts → src/model/service.ts, src/model/policy/). YAML of any shape is refused
// with FABRIC_ERR_SPEC and a reason per problem, or accepted; an accepted spec holds only bare
// tokens, except header values, maintenance and error pages, which keep to their own quotable grammar,
// and htpasswd lines (a name and a bcrypt or SHA-512-crypt hash),
// and the router decodes the stored spec back unchanged. FABRIC_FUZZ_RUNS=100000 for the long run.
import { afterAll, describe, expect, it } from 'vitest';
import { loadResources } from '../../src/ctl/documents.js';
import { encodeSpec, specKey } from '../../src/ctl/specs.js';
import { FabricError } from '../../src/errors.js';
import { decodeEntry } from '../../src/model/entry.js';
import { AUTH_USER, BCRYPT, SHA512_CRYPT } from '../../src/model/policy/basic-auth.js';
import { HEADER_VALUE } from '../../src/model/policy/headers.js';
import { MAINTENANCE_PAGE } from '../../src/model/policy/maintenance.js';
import { fuzzRuns, fuzzTimeout, thrown } from './hostile.js';
import { applyText } from './spec-gen.js';
import { assertFuzz, printTallies, tally } from './tally.js';

const TOKEN = /^[A-Za-z0-9._:/[\]@~-]*$/;

/** Every string inside `value` with its path, and the path's kind of string. */
function strings(value: unknown, at: string[] = []): Array<[string[], string]> {
  if (typeof value === 'string') return [[at, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, [...at, String(i)]));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => strings(v, [...at, k]));
  return [];
}

function htpasswdLine(line: string): boolean {
  const colon = line.indexOf(':');
  return colon > 0 && AUTH_USER.test(line.slice(0, colon)) && (BCRYPT.test(line.slice(colon + 1)) || SHA512_CRYPT.test(line.slice(colon + 1)));
}

function checkAccepted(spec: object): void {
  for (const [at, s] of strings(spec)) {
    const where = `${at.join('.')} = ${JSON.stringify(s)}`;
    if (at[0] === 'headers') expect(HEADER_VALUE.test(s) && !/["\\$]/.test(s), where).toBe(true);
    else if ((at[0] === 'maintenance' && at[1] === 'page') || at[0] === 'errorPages') expect(MAINTENANCE_PAGE.test(s) && !s.includes('$'), where).toBe(true);
    // An htpasswd line: a bare name, then a crypt(3) hash (`$` and `.`/`/` only as the hash's grammar has them).
    else if (at[0] === 'basicAuth' && at[1] === 'users') expect(htpasswdLine(s), where).toBe(true);
    else expect(TOKEN.test(s), where).toBe(true);
  }
  for (const [key] of Object.entries(spec)) expect(['__proto__', 'constructor', 'prototype']).not.toContain(key);
  if ('headers' in spec && spec.headers) {
    for (const map of Object.values(spec.headers as Record<string, Record<string, unknown>>)) {
      for (const name of Object.keys(map)) expect(name).toMatch(/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/);
    }
  }
}

const runs = fuzzRuns(500);
afterAll(printTallies);

describe('fuzz: Service and Route specs (fabric apply)', () => {
  it(
    'refuses with FABRIC_ERR_SPEC and a reason per problem, or accepts only quotable values that the router decodes back',
    () => {
      const t = tally('specs (fabric apply)');
      assertFuzz(
        t,
        applyText,
        (text) => {
          let resources: ReturnType<typeof loadResources> = [];
          const err = thrown(() => {
            resources = loadResources([{ name: 'fuzz.yaml', text }]);
          });
          if (err !== undefined) {
            t.rejected++;
            expect(err).toBeInstanceOf(FabricError);
            expect((err as FabricError).code).toBe('FABRIC_ERR_SPEC');
            expect((err as FabricError).message.trim()).not.toBe('');
            const listed = ((err as FabricError).details?.errors ?? []) as Array<{ reason: string }>;
            for (const e of listed) expect(e.reason.trim(), JSON.stringify(e)).not.toBe('');
            return;
          }
          t.accepted++;
          for (const resource of resources) {
            checkAccepted(resource.spec);
            const key = specKey(resource.kind, resource.name);
            const stored = decodeEntry(key, encodeSpec(resource.spec), 1);
            expect(stored.kind, stored.kind === 'invalid' ? stored.error : key).toBe(resource.kind === 'Service' ? 'service' : 'route');
            if (stored.kind === 'service' || stored.kind === 'route') expect(encodeSpec(stored.spec)).toBe(encodeSpec(resource.spec));
          }
        },
        runs,
      );
    },
    fuzzTimeout(runs, 3),
  );
});
