import { describe, expect, it } from 'vitest';
import { failedState, issuedState, mayOrder, renewAt, retryDelay } from '../schedule.js';

const bounds = { minMs: 1_000, maxMs: 8_000 };

describe('ACME timing', () => {
  it('retries double from min up to max, jittered within the upper half', () => {
    expect([1, 2, 3, 4, 5, 9].map((n) => retryDelay(n, bounds, () => 1))).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
    expect([1, 2, 3, 4].map((n) => retryDelay(n, bounds, () => 0))).toEqual([500, 1_000, 2_000, 4_000]);
  });

  it('a failure is stored with its backoff; no router may order before it ends; a success clears it', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const attempt = { name: 'auto-a.example.com', domains: ['a.example.com'], error: 'CA says no', routerId: 'r1' };
    const first = failedState(undefined, attempt, now, bounds, () => 1);
    expect(first).toMatchObject({ failures: 1, lastError: 'CA says no', nextAttemptAt: '2026-01-01T00:00:01.000Z' });
    expect(mayOrder(first, now + 999)).toBe(false);
    expect(mayOrder(first, now + 1_000)).toBe(true);
    const second = failedState(first, attempt, now + 1_000, bounds, () => 1);
    expect(second).toMatchObject({ failures: 2, nextAttemptAt: '2026-01-01T00:00:03.000Z' });
    const ok = issuedState(attempt, now + 5_000);
    expect(ok.failures).toBe(0);
    expect(mayOrder(ok, now + 5_000)).toBe(true);
    expect(mayOrder(undefined, now)).toBe(true);
  });

  it('renewal at two thirds of the lifetime, minus at most a thirtieth, the same on every router, different per certificate', () => {
    const cert = { name: 'auto-a', notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2026-04-01T00:00:00.000Z' };
    const from = Date.parse(cert.notBefore);
    const lifetime = Date.parse(cert.notAfter) - from;
    const at = renewAt(cert);
    expect(at).toBe(renewAt({ ...cert }));
    expect(at).toBeLessThanOrEqual(from + (lifetime * 2) / 3);
    expect(at).toBeGreaterThanOrEqual(from + (lifetime * 2) / 3 - lifetime / 30);
    const others = ['b', 'c', 'd', 'e'].map((n) => renewAt({ ...cert, name: `auto-${n}` }));
    expect(new Set([at, ...others]).size).toBeGreaterThan(1);
  });
});
