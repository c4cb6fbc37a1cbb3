import type { StatTable } from '../stat-csv.js';

/**
 * What one read of `show stat` changed, as the stat feed's thread sends it (plain data: it crosses
 * a thread boundary). Rows are packed (see packRow): one string per row, not one per field, so a
 * table of 100,000 rows is 100,000 strings to receive and keep, not ~3,000,000.
 */
export interface StatDelta {
  /** The answer's text before the stat table (another command's answer in the same round trip, e.g. `show info`). */
  preamble: string;
  /** Each asked column's place in a packed row; -1 when this HAProxy has no such column. */
  at: Record<string, number>;
  /** Rows that are new, came back, or whose compared columns changed since the last read, packed. */
  changed: string[];
  /** Slots (`backend/server`) of the last read that this one does not list. */
  gone: string[];
  /** Every row: the reader's whole table was sent again (the first read, or HAProxy's columns changed). */
  full: boolean;
  /** Rows in this read. */
  rows: number;
}

/** Packed rows and where each column is in them. */
export interface PackedTable {
  at: Record<string, number>;
  lines: readonly string[];
}

/** HAProxy's fields are C strings: a NUL is never in one. */
const SEPARATOR = '\u0000';

/** `backend/server`, as the feed keys its rows. */
export function slotName(backend: string, server: string): string {
  return `${backend}/${server}`;
}

/** The columns of a packed row, in order: `pxname` and `svname` first (the mirror keys rows by them), then the others asked for. */
export function packedColumns(columns: readonly string[]): string[] {
  return [...new Set(['pxname', 'svname', ...columns])];
}

/** Where each packed column is, for an answer whose header has `answerAt` (absent columns: -1, an empty field in the row). */
export function packedAt(columns: readonly string[], answerAt: Record<string, number>): Record<string, number> {
  return Object.fromEntries(columns.map((c, i) => [c, (answerAt[c] ?? -1) >= 0 ? i : -1]));
}

/** One row's fields of `columns` (packedColumns), joined. */
export function packRow(fields: readonly string[], columns: readonly string[], answerAt: Record<string, number>): string {
  let line = '';
  for (let i = 0; i < columns.length; i++) {
    const at = answerAt[columns[i]!] ?? -1;
    line += (i === 0 ? '' : SEPARATOR) + (at >= 0 ? (fields[at] ?? '') : '');
  }
  return line;
}

/** A packed row's backend and server (its first two fields). */
export function slotOfRow(line: string): { backend: string; server: string } {
  const first = line.indexOf(SEPARATOR);
  const second = line.indexOf(SEPARATOR, first + 1);
  return { backend: line.slice(0, first), server: line.slice(first + 1, second < 0 ? line.length : second) };
}

/** Rows `start` to `end` of a packed table as the table the `show stat` parsers read. */
export function unpack(table: PackedTable, start = 0, end = table.lines.length): StatTable<string> {
  const rows: string[][] = [];
  for (let i = start; i < Math.min(end, table.lines.length); i++) rows.push(table.lines[i]!.split(SEPARATOR));
  return { at: table.at, rows };
}
