import { statNumber as num, readStatTable, type StatTable } from '../haproxy/stat-csv.js';

/**
 * Pure: HAProxy's `show stat` CSV, only what a check verdict needs: one row per server
 * (lb/haproxy/stat-csv.ts reads the table; backend and frontend lines are skipped).
 */
export interface ServerCheckRow {
  backend: string;
  server: string;
  /** `UP`, `DOWN`, `UP 1/3` (going down), `DOWN 1/2` (going up), `NOLB`, `DRAIN`, `MAINT…`, `no check`. */
  status: string;
  /** `L7OK`, `L7STS`, `L4CON`, `L4TOUT`, `INI` (not checked yet), … with `* ` while a check runs. */
  checkStatus: string;
  /** The HTTP status of the last check, when it got one. */
  checkCode: number | undefined;
  checkDurationMs: number | undefined;
  /** Seconds since the last UP/DOWN transition. */
  lastChangeS: number | undefined;
  /** The last check's text (`Service Unavailable`, `Connection refused`). */
  lastCheck: string;
  /** HAProxy's health counter: 0…rise-1 is down, rise…rise+fall-1 is up. */
  health: number | undefined;
  rise: number | undefined;
  fall: number | undefined;
}

/** The columns the check verdicts need (a shared read asks for these and its own). */
export const CHECK_STAT_COLUMNS = [
  'pxname',
  'svname',
  'status',
  'check_status',
  'check_code',
  'check_duration',
  'lastchg',
  'last_chk',
  'check_health',
  'check_rise',
  'check_fall',
] as const;

type CheckColumn = (typeof CHECK_STAT_COLUMNS)[number];

/** Whether a table's columns say whose line it is and its status: without them nothing can be read. */
export function hasCheckColumns(at: Partial<Record<string, number>>): boolean {
  return (at.pxname ?? -1) >= 0 && (at.svname ?? -1) >= 0 && (at.status ?? -1) >= 0;
}

/** Undefined when the answer has no `show stat` header (an error message, an empty answer). A table read once for several readers is taken as is. */
export function parseShowStat(answer: string | StatTable<CheckColumn>): ServerCheckRow[] | undefined {
  const table = typeof answer === 'string' ? readStatTable(answer, CHECK_STAT_COLUMNS) : answer;
  if (!table || !hasCheckColumns(table.at)) return undefined;
  const { at } = table;
  const rows: ServerCheckRow[] = [];
  for (const f of table.rows) {
    const server = f[at.svname] ?? '';
    if (server === 'BACKEND' || server === 'FRONTEND') continue;
    rows.push({
      backend: f[at.pxname] ?? '',
      server,
      status: f[at.status] ?? '',
      checkStatus: (f[at.check_status] ?? '').replace(/^\* /, ''),
      checkCode: num(f[at.check_code]),
      checkDurationMs: num(f[at.check_duration]),
      lastChangeS: num(f[at.lastchg]),
      lastCheck: f[at.last_chk] ?? '',
      health: num(f[at.check_health]),
      rise: num(f[at.check_rise]),
      fall: num(f[at.check_fall]),
    });
  }
  return rows;
}
