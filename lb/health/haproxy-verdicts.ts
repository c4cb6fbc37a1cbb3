import type { Backend, HaproxyDesired } from '../haproxy/desired.js';
import type { ServerCheckRow } from './haproxy-stat.js';
import type { CheckStatus } from './state.js';

/** A service backend's checked slots, kept by its object: a plan keeps an unchanged backend's, so a change rebuilds only its own. */
const backendSlots = new WeakMap<Backend, ReadonlyMap<string, string>>();

/**
 * Pure: backend → server → endpoint key (`<service>/<host>/<container>`) for every filled slot
 * HAProxy checks itself: the services' backends. A Route's backend holds the same endpoints
 * again; its slots follow the services' verdicts (the router puts them in maintenance), so they
 * are not read.
 */
export function checkedSlots(desired: HaproxyDesired): Map<string, ReadonlyMap<string, string>> {
  const slots = new Map<string, ReadonlyMap<string, string>>();
  for (const backend of desired.backends) {
    if (backend.route || !backend.check) continue;
    let servers = backendSlots.get(backend);
    if (!servers) {
      const built = new Map<string, string>();
      for (const server of backend.servers) if (server.endpoint) built.set(server.name, `${backend.service}/${server.endpoint}`);
      backendSlots.set(backend, (servers = built));
    }
    if (servers.size > 0) slots.set(backend.name, servers);
  }
  return slots;
}

/** HAProxy's strerror() texts as the codes the router's own probes report (`connect: ECONNREFUSED`). */
const ERRNO: Record<string, string> = {
  'Connection refused': 'ECONNREFUSED',
  'Connection reset by peer': 'ECONNRESET',
  'No route to host': 'EHOSTUNREACH',
  'Network is unreachable': 'ENETUNREACH',
};

const PASSED = new Set(['L4OK', 'L6OK', 'L7OK', 'L7OKC']);

/**
 * Pure: an endpoint's check status after one read of its server's line.
 * Returns `before` itself when HAProxy has no new word: the server is in
 * maintenance (not checked), or not checked since HAProxy (re)started (`INI`,
 * so a reload does not forget a verdict). Up or down is HAProxy's own health
 * counter (up from `rise`), so the rise/fall semantics are HAProxy's.
 */
export function statusFromRow(row: ServerCheckRow, before: CheckStatus, at: number, rise: number): CheckStatus {
  if (row.status.startsWith('MAINT') || row.status === 'no check') return before;
  if (row.checkStatus === 'INI' || row.checkStatus === '') return before;
  const health = row.health ?? 0;
  const threshold = row.rise ?? rise;
  const state = health >= threshold ? 'healthy' : 'unhealthy';
  const failed = !PASSED.has(row.checkStatus);
  const fall = row.fall ?? 1;
  // HAProxy counts toward the next transition: down, its successes so far; up, its failures so far.
  const successes = state === 'unhealthy' ? health : failed ? 0 : Math.max(1, before.successes);
  const failures = state === 'unhealthy' ? (health === 0 ? Math.max(fall, before.failures) : 0) : threshold + fall - 1 - health;
  const lastError = failed ? checkError(row) : state === 'healthy' ? undefined : before.lastError;
  const since = state === before.state ? before.since : at - (row.lastChangeS ?? 0) * 1_000;
  if (
    state === before.state &&
    successes === before.successes &&
    failures === before.failures &&
    lastError === before.lastError &&
    row.checkDurationMs === before.lastDurationMs
  ) {
    return before;
  }
  return { state, successes, failures, since, lastCheck: at, lastDurationMs: row.checkDurationMs, lastError };
}

/** The last failed check in the router checker's words (`HTTP 503`, `connect: Connection refused`, `timeout`). */
export function checkError(row: Pick<ServerCheckRow, 'checkStatus' | 'checkCode' | 'lastCheck'>): string {
  switch (row.checkStatus) {
    case 'L7STS':
      return `HTTP ${row.checkCode ?? '?'}`;
    case 'L4CON':
      return `connect: ${ERRNO[row.lastCheck] ?? (row.lastCheck || 'failed')}`;
    case 'L4TOUT':
    case 'L6TOUT':
    case 'L7TOUT':
      return 'timeout';
    default:
      return row.lastCheck ? `${row.checkStatus}: ${row.lastCheck}` : row.checkStatus;
  }
}
