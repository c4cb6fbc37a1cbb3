import { FabricError } from '../../src/errors.js';
import { nginxRate, RATE_LIMIT_MAX_REQUESTS, type RateLimitPolicy } from '../../src/model/policy/rate-limit.js';

/** Clients an HAProxy stick table or an nginx zone keeps at once (~100 k addresses: a few MiB). */
const TABLE_SIZE = '100k';
const ZONE_SIZE = '10m';

/**
 * HAProxy: a stick table in the service's own backend counts each client address's requests over
 * a sliding `per` (denied ones too: a client that keeps hammering stays refused), and answers 429
 * past `requests`. The entry expires `per` after the client's last request.
 */
export function haproxyRateLimitLines(policy: RateLimitPolicy): string[] {
  const { requests, per } = checked(policy);
  return [
    `stick-table type ipv6 size ${TABLE_SIZE} expire ${per}ms store http_req_rate(${per}ms)`,
    'http-request track-sc0 src',
    `http-request deny deny_status 429 if { sc_http_req_rate(0) gt ${requests} }`,
  ];
}

/** The nginx zone of a service (in the http block): one per service, per router. */
export function nginxRateLimitZone(zone: string, policy: RateLimitPolicy): string {
  const { rate } = nginxRate(checked(policy));
  return `limit_req_zone $binary_remote_addr zone=${zone}:${ZONE_SIZE} rate=${rate};`;
}

/** In each location serving the service: the first `requests` at once, then at the zone's rate. */
export function nginxRateLimitLines(zone: string, policy: RateLimitPolicy): string[] {
  const { burst } = nginxRate(checked(policy));
  return [`limit_req zone=${zone} burst=${burst} nodelay;`, 'limit_req_status 429;'];
}

/** The schema admitted these; checked again before they reach a config. */
function checked(policy: RateLimitPolicy): RateLimitPolicy {
  const { requests, per } = policy;
  if (!Number.isInteger(requests) || requests < 1 || requests > RATE_LIMIT_MAX_REQUESTS || !Number.isInteger(per) || per < 1_000 || per > 3_600_000)
    throw new FabricError('FABRIC_ERR_RENDER', `refusing to render rate limit ${JSON.stringify(policy)}`);
  return policy;
}
