import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { FabricError } from './errors.js';
import { parseHostPort } from './grammar.js';

/** Who may use a process's HTTP API (`--api-token-file`, `--metrics-public`). */
export interface ApiAccess {
  /** When set, every route but the open ones needs `Authorization: Bearer <token>`. */
  token?: string;
  /** `/metrics` without the token (a Prometheus that has none). */
  metricsPublic: boolean;
}

/** Probes answer without a token: a load balancer or an orchestrator checks them and holds none. */
const OPEN_PATHS = new Set(['/healthz', '/readyz']);
/** The dashboard's page and modules hold no data; the page asks for the token and sends it on every call. */
const OPEN_PREFIXES = ['/dashboard/'];
/** EventSource cannot set headers: only the event stream accepts the token as `?token=`. */
export const QUERY_TOKEN_PATHS = new Set(['/v1/events']);

/** 127.0.0.0/8, ::1 and `localhost`: addresses no other machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./i.test(bare);
  return false;
}

/** Refused before anything binds: an API beyond loopback without a token would let any machine read and change state. */
export function refuseOpenListen(address: string, access: ApiAccess): void {
  const parsed = parseHostPort(address);
  if (!parsed || isLoopbackHost(parsed.host) || access.token) return;
  throw new FabricError(
    'FABRIC_ERR_CONFIG',
    `--listen ${address}: the API would be reachable beyond loopback without a token; pass --api-token-file FILE (clients then send "Authorization: Bearer <token>") or listen on 127.0.0.1`,
  );
}

/** Whether `path` (no query string) needs the token. */
export function needsToken(path: string, access: ApiAccess): boolean {
  if (!access.token) return false;
  if (OPEN_PATHS.has(path) || path === '/') return false;
  if (path === '/metrics' && access.metricsPublic) return false;
  return !OPEN_PREFIXES.some((prefix) => path.startsWith(prefix));
}

/** The token a request carries: the Bearer header, or `?token=` on the event stream only. */
export function presentedToken(path: string, authorization: string | undefined, query: unknown): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim();
  if (bearer) return bearer;
  if (!QUERY_TOKEN_PATHS.has(path) || typeof query !== 'object' || query === null) return undefined;
  const value = (query as Record<string, unknown>).token;
  return typeof value === 'string' ? value : undefined;
}

/** Constant-time: both sides are hashed first, so neither the content nor the length leaks through timing. */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** `url` with any `token` query parameter's value hidden: request logs must not carry the token. */
export function redactToken(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/gi, '$1[redacted]');
}
