/**
 * The share of the router's time that reading HAProxy's stats may take. The answer is read and
 * parsed on the main thread (`show stat` is ~26 MB at 100,000 servers, about a second of work), so
 * at that size a 1 s cadence would be all the router did; HAProxy's own checks keep taking servers
 * out on time, only the router's copy of the verdicts and the traffic samples come less often.
 */
export const MAX_READ_SHARE = 0.1;

/** The wait before the next read: the cadence asked for, stretched so a read that took `lastReadMs` stays within MAX_READ_SHARE. */
export function nextReadDelay(intervalMs: number, lastReadMs: number | undefined): number {
  if (!lastReadMs || lastReadMs <= 0) return intervalMs;
  return Math.max(intervalMs, Math.ceil(lastReadMs * (1 / MAX_READ_SHARE - 1)));
}
