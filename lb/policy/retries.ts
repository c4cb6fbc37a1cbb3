import { FabricError } from '../../src/errors.js';
import { RETRIES_MAX } from '../../src/model/policy/retries.js';

/**
 * HAProxy: `retries N` in the backend, each on another server (`option redispatch 1` in the
 * defaults), for a refused or cut connection, no answer, a response timeout or a 502/503/504. The
 * template's `http-request disable-l7-retry unless { method GET HEAD OPTIONS PUT DELETE }` keeps
 * every other method (POST, PATCH) from being sent twice; HAProxy retries only a request it still
 * holds whole (a body larger than its buffer is not retried).
 */
export function haproxyRetriesLines(retries: number): string[] {
  return [`retries ${checked(retries)}`, 'retry-on conn-failure empty-response response-timeout 502 503 504'];
}

/**
 * nginx: N + 1 tries in all, on the next server, for the same failures. nginx never passes a
 * non-idempotent request (POST, LOCK, PATCH) on once it was sent (no `non_idempotent`).
 */
export function nginxRetriesLines(retries: number): string[] {
  return ['proxy_next_upstream error timeout http_502 http_503 http_504;', `proxy_next_upstream_tries ${checked(retries) + 1};`];
}

function checked(retries: number): number {
  if (!Number.isInteger(retries) || retries < 0 || retries > RETRIES_MAX) throw new FabricError('FABRIC_ERR_RENDER', `refusing to render retries ${retries}`);
  return retries;
}
