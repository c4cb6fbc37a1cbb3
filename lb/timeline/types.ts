/** What the events timeline records (`GET /v1/timeline`, SSE `event: timeline`). */
export const TIMELINE_KINDS = [
  'endpoint.registered',
  'endpoint.draining',
  'endpoint.removed',
  'health.up',
  'health.down',
  'reload',
  'runtime',
  'apply.failed',
  'validation.failed',
  'cert.issued',
  'cert.renewed',
  'cert.failed',
  'etcd.lost',
  'etcd.restored',
  'host.up',
  'host.down',
] as const;

export type TimelineKind = (typeof TIMELINE_KINDS)[number];

/** An event before the timeline numbers and dates it. */
export interface TimelineInput {
  kind: TimelineKind;
  service?: string;
  /** `<service>/<host>/<container>`: the endpoint's etcd key below `endpoints/` (as health checks and `/v1/routes` name it). */
  endpoint?: string;
  host?: string;
  route?: string;
  target?: string;
  message: string;
  detail?: Record<string, unknown>;
}

export interface TimelineEvent extends TimelineInput {
  /** Increasing from 1 for the life of the router process. */
  id: number;
  /** ISO-8601 with date. */
  at: string;
}
