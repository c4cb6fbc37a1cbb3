/** The cumulative counters the router keeps per service, endpoint and route version. */
export const COUNTERS = ['requests', '1xx', '2xx', '3xx', '4xx', '5xx', 'other', 'connectionErrors', 'retries', 'bytesIn', 'bytesOut'] as const;
export type CounterName = (typeof COUNTERS)[number];
export type Counters = Record<CounterName, number>;

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

export function zeroCounters(): Counters {
  return { requests: 0, '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, other: 0, connectionErrors: 0, retries: 0, bytesIn: 0, bytesOut: 0 };
}

/** Adds `b` into `a` (a is the accumulator the caller owns). */
export function addInto(a: Counters, b: Counters): void {
  for (const name of COUNTERS) a[name] += b[name];
}

/**
 * Pure: what happened between two reads of the same counters. A counter that went down was reset
 * (a new HAProxy process, `clear counters`): everything it shows now is new, so the delta is its
 * value; never negative.
 */
export function counterDelta(before: Counters, now: Counters): Counters {
  const delta = zeroCounters();
  for (const name of COUNTERS) delta[name] = now[name] >= before[name] ? now[name] - before[name] : now[name];
  return delta;
}

/** Responses with a status: what an error rate is a share of. */
export function responses(c: Pick<Counters, (typeof STATUS_CLASSES)[number] | 'other'>): number {
  return c['1xx'] + c['2xx'] + c['3xx'] + c['4xx'] + c['5xx'] + c.other;
}
