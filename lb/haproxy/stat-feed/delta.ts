/**
 * What one read of `show stat` changed, as the stat feed's thread sends it (plain data: it crosses
 * a thread boundary).
 */
export interface StatDelta {
  /** The answer's text before the stat table (another command's answer in the same round trip, e.g. `show info`). */
  preamble: string;
  /** Each asked column's index in a row; -1 when this HAProxy has no such column. */
  at: Record<string, number>;
  /** Rows that are new, came back, or whose compared columns changed since the last read: each row's fields up to the last asked column. */
  changed: string[][];
  /** Slots (`backend/server`) of the last read that this one does not list. */
  gone: string[];
  /** Every row: the reader's whole table was sent again (the first read, or HAProxy's columns changed). */
  full: boolean;
  /** Rows in this read. */
  rows: number;
}

/** `backend/server`, as the feed keys its rows. */
export function slotName(backend: string, server: string): string {
  return `${backend}/${server}`;
}
