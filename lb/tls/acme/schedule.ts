import { createHash } from 'node:crypto';
import type { CertSummary } from '../../../src/tls/cert-record.js';
import type { AcmeState } from './records.js';

/**
 * Pure timing of the ACME loop: when a certificate is renewed, and how long a failing one waits.
 */

/** Up to this share of the lifetime is taken off the renewal time, so certificates issued together do not renew together. */
const JITTER_SHARE = 1 / 30;

/**
 * Two thirds into the lifetime, minus a jitter every router computes the same way (a hash of
 * the name and the expiry), so they agree on when without talking.
 */
export function renewAt(cert: Pick<CertSummary, 'name' | 'notBefore' | 'notAfter'>): number {
  const from = Date.parse(cert.notBefore);
  const to = Date.parse(cert.notAfter);
  const lifetime = Math.max(0, to - from);
  const hash = createHash('sha256').update(`${cert.name} ${cert.notAfter}`).digest().readUInt32BE(0) / 0xffffffff;
  return from + (lifetime * 2) / 3 - lifetime * JITTER_SHARE * hash;
}

export interface RetryBounds {
  minMs: number;
  maxMs: number;
}

/** After the n-th failure in a row (n ≥ 1): doubling from `minMs`, capped at `maxMs`, the upper half jittered. */
export function retryDelay(failures: number, bounds: RetryBounds, random: () => number = Math.random): number {
  const ceiling = Math.min(bounds.maxMs, bounds.minMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Whether the backoff of the last failure (any router's) has run out. */
export function mayOrder(state: AcmeState | undefined, now: number): boolean {
  if (!state?.nextAttemptAt) return true;
  return Date.parse(state.nextAttemptAt) <= now;
}

/** The state after a failed attempt. */
export function failedState(
  previous: AcmeState | undefined,
  attempt: { name: string; domains: string[]; error: string; routerId: string },
  now: number,
  bounds: RetryBounds,
  random?: () => number,
): AcmeState {
  const failures = (previous?.failures ?? 0) + 1;
  return {
    name: attempt.name,
    domains: attempt.domains,
    failures,
    lastAttemptAt: new Date(now).toISOString(),
    nextAttemptAt: new Date(now + retryDelay(failures, bounds, random)).toISOString(),
    lastError: attempt.error.slice(0, 2_000),
    ...(previous?.lastIssuedAt ? { lastIssuedAt: previous.lastIssuedAt } : {}),
    routerId: attempt.routerId,
  };
}

/** The state after a certificate was issued: no backoff. */
export function issuedState(attempt: { name: string; domains: string[]; routerId: string }, now: number): AcmeState {
  const at = new Date(now).toISOString();
  return { name: attempt.name, domains: attempt.domains, failures: 0, lastAttemptAt: at, lastIssuedAt: at, routerId: attempt.routerId };
}
