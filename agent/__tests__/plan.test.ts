import { describe, expect, it } from 'vitest';
import { isEmptyPlan, planWrites, type StoredKey, type WritePlan } from '../plan.js';

const LEASE = '7587';

const desired = (entries: Record<string, string>) => new Map(Object.entries(entries));
const stored = (entries: Record<string, [string, string]>) =>
  new Map<string, StoredKey>(Object.entries(entries).map(([k, [value, lease]]) => [k, { value, lease }]));

describe('planWrites', () => {
  it.each<[string, Map<string, string>, Map<string, StoredKey>, WritePlan]>([
    ['nothing anywhere', desired({}), stored({}), { puts: [], deletes: [] }],
    ['unchanged: no write at all', desired({ a: '1', h: 'x' }), stored({ a: ['1', LEASE], h: ['x', LEASE] }), { puts: [], deletes: [] }],
    ['new key', desired({ a: '1', b: '2' }), stored({ a: ['1', LEASE] }), { puts: [{ key: 'b', value: '2' }], deletes: [] }],
    ['changed value', desired({ a: '2' }), stored({ a: ['1', LEASE] }), { puts: [{ key: 'a', value: '2' }], deletes: [] }],
    ['same value on another (old) lease', desired({ a: '1' }), stored({ a: ['1', '42'] }), { puts: [{ key: 'a', value: '1' }], deletes: [] }],
    ['same value without a lease', desired({ a: '1' }), stored({ a: ['1', '0'] }), { puts: [{ key: 'a', value: '1' }], deletes: [] }],
    ['gone from Docker', desired({ h: 'x' }), stored({ a: ['1', LEASE], h: ['x', LEASE] }), { puts: [], deletes: ['a'] }],
    [
      'a mix',
      desired({ keep: 'k', change: 'new', add: 'a' }),
      stored({ keep: ['k', LEASE], change: ['old', LEASE], drop: ['d', LEASE] }),
      {
        puts: [
          { key: 'change', value: 'new' },
          { key: 'add', value: 'a' },
        ],
        deletes: ['drop'],
      },
    ],
  ])('%s', (_what, want, have, plan) => {
    expect(planWrites(want, have, LEASE)).toEqual(plan);
  });

  it('is pure: its inputs are left alone', () => {
    const want = desired({ a: '2' });
    const have = stored({ a: ['1', LEASE], b: ['1', LEASE] });
    planWrites(want, have, LEASE);
    expect([...want]).toEqual([['a', '2']]);
    expect([...have.keys()]).toEqual(['a', 'b']);
  });

  it('compares values byte for byte', () => {
    expect(planWrites(desired({ a: '{"x":1}' }), stored({ a: ['{"x": 1}', LEASE] }), LEASE).puts).toHaveLength(1);
  });
});

describe('isEmptyPlan', () => {
  it.each<[WritePlan, boolean]>([
    [{ puts: [], deletes: [] }, true],
    [{ puts: [{ key: 'a', value: '1' }], deletes: [] }, false],
    [{ puts: [], deletes: ['a'] }, false],
  ])('%j → %s', (plan, empty) => {
    expect(isEmptyPlan(plan)).toBe(empty);
  });
});
