import { z } from 'zod';
import { durationSchema } from '../../duration.js';

/**
 * `rateLimit: {requests, per}`: at most `requests` requests per `per` from one client address;
 * past it the router answers 429. The count lives in each router's load balancer (HAProxy stick
 * table, nginx `limit_req` zone): shared by nothing, so N routers let a client in N times over.
 */
export const RATE_LIMIT_MAX_REQUESTS = 1_000_000;

export const rateLimitSchema = z
  .object({
    requests: z
      .number()
      .int('must be a whole number of requests')
      .min(1, 'must be at least 1 (a zero or negative rate is refused)')
      .max(RATE_LIMIT_MAX_REQUESTS, 'must be at most 1000000'),
    per: durationSchema({ min: 1_000, max: 3_600_000 }).refine((ms) => ms % 1_000 === 0, { message: 'must be whole seconds (1s to 1h)' }),
  })
  .strict();

export type RateLimitPolicy = z.infer<typeof rateLimitSchema>;

/**
 * nginx takes a rate in whole requests per second or per minute. requests/per as r/s when whole,
 * else as r/m rounded up (at least 1r/m): nginx is never stricter than asked. `burst` lets the
 * first `requests` in at once (nodelay), as HAProxy's window does.
 */
export function nginxRate({ requests, per }: RateLimitPolicy): { rate: string; burst: number } {
  const seconds = per / 1_000;
  const rate = requests % seconds === 0 ? `${requests / seconds}r/s` : `${Math.max(1, Math.ceil((requests * 60) / seconds))}r/m`;
  return { rate, burst: requests - 1 };
}
