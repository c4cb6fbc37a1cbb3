import { z } from 'zod';

/**
 * `retries: N` (0–5): a request that fails (refused or reset connection, no answer, a 502/503/504,
 * a response timeout) is tried again on another server, up to N more times. Idempotent methods
 * only (GET, HEAD, OPTIONS, PUT, DELETE): a POST or PATCH that reached a server is never sent twice.
 */
export const RETRIES_MAX = 5;

export const retriesSchema = z.number().int('must be a whole number').min(0, 'must be 0 to 5').max(RETRIES_MAX, 'must be 0 to 5');
