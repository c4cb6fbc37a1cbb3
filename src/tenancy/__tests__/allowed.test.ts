import { describe, expect, it } from 'vitest';
import { storedServiceSpecSchema } from '../../model/service.js';
import { hostAllowed, refusal } from '../allowed.js';

describe('services bound to hosts', () => {
  it('allows every host without hosts or pools (the behaviour before them)', () => {
    expect(hostAllowed(undefined, 'a', undefined)).toBe(true);
    expect(hostAllowed({}, 'a', 'blue')).toBe(true);
  });

  it('matches host globs (* is any run of host-name characters) or pools, either one enough', () => {
    const spec = { hosts: ['web-*', 'db.example'], pools: ['blue'] };
    expect(hostAllowed(spec, 'web-1', undefined)).toBe(true);
    expect(hostAllowed(spec, 'web-1.dc2', undefined)).toBe(true);
    expect(hostAllowed(spec, 'db.example', undefined)).toBe(true);
    expect(hostAllowed(spec, 'dbxexample', undefined)).toBe(false); // `.` is a dot, not any character
    expect(hostAllowed(spec, 'api-1', 'blue')).toBe(true);
    expect(hostAllowed(spec, 'api-1', 'green')).toBe(false);
    expect(hostAllowed({ pools: ['blue'] }, 'web-1', undefined)).toBe(false);
    expect(refusal({ pools: ['blue'] }, 'api-1', 'green')).toBe("host api-1 (pool green) is not one of the service's pools [blue]");
    expect(refusal({ hosts: ['web-*'] }, 'api-1', 'green')).toBe("host api-1 is not one of the service's hosts [web-*]");
  });

  it('has a strict grammar: host-name characters and * in globs, service-name spelling for pools', () => {
    const ok = (extra: object) => storedServiceSpecSchema.safeParse({ name: 'web', ...extra }).success;
    expect(ok({ hosts: ['web-*', 'a.b_c'], pools: ['blue-1'] })).toBe(true);
    for (const hosts of [['a b'], ['a/b'], ['a?'], ['[ab]'], [''], [], ['a\nb']]) expect(ok({ hosts }), JSON.stringify(hosts)).toBe(false);
    for (const pools of [['Blue'], ['a_b'], ['-a'], [''], []]) expect(ok({ pools }), JSON.stringify(pools)).toBe(false);
  });
});
