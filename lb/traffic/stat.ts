import { readStatTable, type StatTable, statNumber } from '../haproxy/stat-csv.js';
import type { Counters } from './counters.js';

/** One backend or server line of `show stat`, as traffic reads it. */
export interface TrafficRow {
  backend: string;
  /** `BACKEND` for the backend's own line. */
  server: string;
  counters: Counters;
  /** Current sessions. */
  sessions: number;
  /** Requests waiting in the queue. */
  queue: number;
  /** HAProxy's average response time over the last 1,024 requests (ms); undefined when not HTTP or none yet. */
  responseTimeMs: number | undefined;
}

/** The columns traffic reads (the health read-back asks for these too when it shares its read). */
export const TRAFFIC_STAT_COLUMNS = [
  'pxname',
  'svname',
  'scur',
  'qcur',
  'stot',
  'bin',
  'bout',
  'econ',
  'wretr',
  'wredis',
  'hrsp_1xx',
  'hrsp_2xx',
  'hrsp_3xx',
  'hrsp_4xx',
  'hrsp_5xx',
  'hrsp_other',
  'req_tot',
  'rtime',
] as const;

export type TrafficColumn = (typeof TRAFFIC_STAT_COLUMNS)[number];

/**
 * Pure: the backend and server lines of a `show stat` answer (frontends are skipped). Requests are
 * HAProxy's `req_tot`, or its sessions (`stot`) where it counts no HTTP requests (TCP mode).
 */
export function trafficRows(answer: string | StatTable<TrafficColumn>): TrafficRow[] | undefined {
  const table = typeof answer === 'string' ? readStatTable(answer, TRAFFIC_STAT_COLUMNS) : answer;
  if (!table) return undefined;
  const { at } = table;
  if (at.pxname < 0 || at.svname < 0) return undefined;
  const n = (f: string[], column: TrafficColumn) => (at[column] < 0 ? 0 : (statNumber(f[at[column]]) ?? 0));
  const rows: TrafficRow[] = [];
  for (const f of table.rows) {
    const server = f[at.svname] ?? '';
    if (server === 'FRONTEND') continue;
    const requestsField = at.req_tot < 0 ? undefined : statNumber(f[at.req_tot]);
    const rtime = at.rtime < 0 ? undefined : statNumber(f[at.rtime]);
    rows.push({
      backend: f[at.pxname] ?? '',
      server,
      counters: {
        requests: requestsField ?? n(f, 'stot'),
        '1xx': n(f, 'hrsp_1xx'),
        '2xx': n(f, 'hrsp_2xx'),
        '3xx': n(f, 'hrsp_3xx'),
        '4xx': n(f, 'hrsp_4xx'),
        '5xx': n(f, 'hrsp_5xx'),
        other: n(f, 'hrsp_other'),
        connectionErrors: n(f, 'econ'),
        retries: n(f, 'wretr') + n(f, 'wredis'),
        bytesIn: n(f, 'bin'),
        bytesOut: n(f, 'bout'),
      },
      sessions: n(f, 'scur'),
      queue: n(f, 'qcur'),
      responseTimeMs: requestsField === undefined ? undefined : rtime,
    });
  }
  return rows;
}

/** What `show info` says about the process: a new `Pid` (or an uptime that went back) is a new process with fresh counters. */
export interface ProcessInfo {
  pid: number | undefined;
  uptimeS: number | undefined;
}

/** Pure: `show info`'s `Name: value` lines; found anywhere in a round trip's answer. */
export function parseShowInfo(text: string): ProcessInfo {
  return { pid: infoNumber(text, 'Pid'), uptimeS: infoNumber(text, 'Uptime_sec') };
}

function infoNumber(text: string, name: string): number | undefined {
  const match = new RegExp(`^${name}: (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}
