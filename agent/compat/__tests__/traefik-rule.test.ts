import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTraefikRule } from '../traefik-rule.js';

describe('parseTraefikRule: what fabric can serve', () => {
  it.each([
    ['Host(`a.example.com`)', ['a.example.com'], undefined],
    ['Host("a.example.com")', ['a.example.com'], undefined],
    ['Host(`A.example.com`, `b.example.com`)', ['a.example.com', 'b.example.com'], undefined],
    ['Host(`a.example.com`) || Host(`b.example.com`)', ['a.example.com', 'b.example.com'], undefined],
    ['Host(`a.example.com`) && PathPrefix(`/api`)', ['a.example.com'], '/api'],
    ['PathPrefix(`/api`) && Host(`a.example.com`)', ['a.example.com'], '/api'],
    ['(Host(`a.example.com`) || Host(`b.example.com`)) && PathPrefix(`/api`)', ['a.example.com', 'b.example.com'], '/api'],
    ['Host(`a.example.com`) && PathPrefix(`/api`) || Host(`b.example.com`) && PathPrefix(`/api`)', ['a.example.com', 'b.example.com'], '/api'],
    ['Host(`a.example.com`) && PathPrefix(`/`)', ['a.example.com'], undefined],
    ['  ( ( Host(`a.example.com`) ) )  ', ['a.example.com'], undefined],
  ])('%s', (rule, hosts, path) => {
    expect(parseTraefikRule(rule)).toEqual({ ok: true, hosts, path });
  });
});

describe('parseTraefikRule: refused with a reason', () => {
  it.each([
    ['', /empty rule/],
    ['Host(`a.example.com`', /ends too early/],
    ['Host(`a.example.com)', /unterminated string/],
    ['Host()', /needs a name/],
    ['Host(a.example.com)', /unexpected "\."/],
    ['Host(example)', /quoted string/],
    ['PathPrefix(`/api`)', /needs a Host/],
    ['Host(`a.example.com`) || PathPrefix(`/api`)', /needs a Host/],
    ['Host(`a.example.com`) && Host(`b.example.com`)', /can never match/],
    ['Host(`a.example.com`) && PathPrefix(`/a`) || Host(`b.example.com`) && PathPrefix(`/b`)', /different PathPrefix/],
    ['Host(`a.example.com`) && PathPrefix(`/a`) && PathPrefix(`/b`)', /two PathPrefix/],
    ['Host(`a.example.com`) && !PathPrefix(`/a`)', /negation/],
    ['HostRegexp(`{sub:[a-z]+}.example.com`)', /HostRegexp\(\) is not supported/],
    ['Host(`a.example.com`) && Method(`GET`)', /Method\(\) is not supported/],
    ['Hots(`a.example.com`)', /unknown matcher Hots/],
    ['Host(`a.example.com`) Host(`b.example.com`)', /after a complete rule/],
    ['Host(`a.example.com`) | Host(`b.example.com`)', /unexpected "\|"/],
    [`${'('.repeat(40)}Host(\`a.example.com\`)${')'.repeat(40)}`, /nested deeper/],
    [Array.from({ length: 10 }, () => '(Host(`a.example.com`) || Host(`b.example.com`))').join(' && '), /more than 256 alternatives/],
    ['x'.repeat(5000), /longer than/],
  ])('%s', (rule, reason) => {
    const result = parseTraefikRule(rule);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});

const RULE_PIECES = ['Host(', 'PathPrefix(', 'Path(', '`a.example.com`', '"b.example.com"', '`/api`', ',', ')', '(', '||', '&&', '!', ' ', '`', 'x'];

describe('parseTraefikRule: properties', () => {
  it('never throws, and a refusal always says why', () => {
    const anyText = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.array(fc.constantFrom(...RULE_PIECES), { maxLength: 40 }).map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(anyText, (rule) => {
        const result = parseTraefikRule(rule);
        if (result.ok) {
          expect(result.hosts.length).toBeGreaterThan(0);
        } else {
          expect(result.reason.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('reads back the hosts and the path of any rule written in the forms it supports', () => {
    const host = fc.stringMatching(/^[a-z][a-z0-9]{0,8}\.example\.com$/);
    const path = fc.option(fc.stringMatching(/^\/[a-z0-9]{1,8}$/), { nil: undefined });
    fc.assert(
      fc.property(fc.uniqueArray(host, { minLength: 1, maxLength: 5 }), path, fc.boolean(), (hosts, prefix, grouped) => {
        const hostPart = grouped ? `Host(${hosts.map((h) => `\`${h}\``).join(', ')})` : hosts.map((h) => `Host(\`${h}\`)`).join(' || ');
        const rule = prefix ? `(${hostPart}) && PathPrefix(\`${prefix}\`)` : hostPart;
        expect(parseTraefikRule(rule)).toEqual({ ok: true, hosts, path: prefix });
      }),
      { numRuns: 500 },
    );
  });
});
