/**
 * The service list's view of `/v1/services`, for `/v1/events` snapshots: counts instead of endpoint
 * arrays, so a snapshot at 1,000 services stays small; the dashboard fetches `/v1/services/<name>` on a
 * service's page; traffic has its own event (`traffic`, lb/traffic/). Pure: from the API's own answer, so fields the API grows need no change here.
 */

interface ServiceAnswer {
  name?: unknown;
  mode?: unknown;
  domains?: unknown;
  paths?: unknown;
  vip?: unknown;
  healthy?: unknown;
  conflicts?: unknown[];
  endpoints?: Array<{ state?: unknown; version?: unknown }>;
}

export interface ServiceSummary {
  name: unknown;
  mode: unknown;
  domains: unknown;
  paths: unknown;
  vip: unknown;
  /** Endpoints serving (ready). */
  healthy: unknown;
  endpoints: number;
  draining: number;
  versions: string[];
  conflicts: number;
}

export function summarizeServices(answer: { revision?: unknown; services?: ServiceAnswer[] }): {
  revision: unknown;
  summary: true;
  services: ServiceSummary[];
} {
  return { revision: answer.revision ?? null, summary: true, services: (answer.services ?? []).map(summarizeService) };
}

function summarizeService(s: ServiceAnswer): ServiceSummary {
  const endpoints = s.endpoints ?? [];
  const versions = [...new Set(endpoints.map((e) => e.version).filter((v): v is string => typeof v === 'string'))].sort();
  return {
    name: s.name,
    mode: s.mode,
    domains: s.domains ?? [],
    paths: s.paths ?? [],
    vip: s.vip ?? null,
    healthy: s.healthy ?? 0,
    endpoints: endpoints.length,
    draining: endpoints.filter((e) => e.state === 'draining').length,
    versions,
    conflicts: s.conflicts?.length ?? 0,
  };
}

/** Counters of `/v1/status` that move every second without anything changing (the health reader's polls). */
const VOLATILE_HEALTH_FIELDS = ['reads', 'lastRead', 'lastReadMs'];

/**
 * `/v1/status` for a snapshot: without the fields that tick every second, so an idle router sends no
 * snapshot at all (the snapshot is only sent when its text changes). `/v1/status` itself keeps them.
 */
export function steadyStatus(status: unknown): unknown {
  if (!status || typeof status !== 'object') return status;
  const { healthChecks, ...rest } = status as { healthChecks?: unknown } & Record<string, unknown>;
  if (!healthChecks || typeof healthChecks !== 'object') return status;
  const steady = Object.fromEntries(Object.entries(healthChecks).filter(([key]) => !VOLATILE_HEALTH_FIELDS.includes(key)));
  return { ...rest, healthChecks: steady };
}
