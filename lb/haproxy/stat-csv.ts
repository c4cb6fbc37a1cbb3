/**
 * Pure: HAProxy's `show stat` CSV as rows of the columns a reader names. Columns are found by the
 * header's names, so another HAProxy version's column order is fine; fields past the last one asked
 * for are not split (a server line has ~130). Shared by the health read-back (lb/health/haproxy-stat.ts)
 * and the traffic sampler (lb/traffic/stat.ts), which read the same answer.
 */
export interface StatTable<C extends string> {
  /** Each asked column's index in a row; -1 when this HAProxy has no such column. */
  at: Record<C, number>;
  rows: string[][];
}

const HEADER = '# pxname,';

/** Where a `show stat` answer's table starts: its column names, and the offset of its first row. */
export interface StatHeader {
  names: string[];
  /** Offset of the header line (what comes before it is another command's answer). */
  start: number;
  /** Offset of the first line after the header (0 when nothing follows it). */
  body: number;
}

/**
 * Undefined when the text holds no `show stat` header (an error message, an empty answer). The
 * table may follow other answers of the same round trip (`show info;show stat`): the header is
 * looked for at the start of any line.
 */
export function statHeader(text: string): StatHeader | undefined {
  const from = text.startsWith(HEADER) ? 0 : text.indexOf(`\n${HEADER}`) + 1;
  if (from === 0 && !text.startsWith(HEADER)) return undefined;
  const newline = text.indexOf('\n', from);
  const header = newline < 0 ? text.slice(from) : text.slice(from, newline);
  return { names: header.slice(2).split(','), start: from, body: newline + 1 };
}

/** Each asked column's index in the header's names; -1 when absent. */
export function columnsAt<C extends string>(names: readonly string[], columns: readonly C[]): Record<C, number> {
  return Object.fromEntries(columns.map((c) => [c, names.indexOf(c)])) as Record<C, number>;
}

/**
 * Calls `row` with each data line's fields up to index `last`, from `body` until the answer ends
 * (an empty line: another one may follow in the same round trip).
 */
export function forEachStatRow(text: string, body: number, last: number, row: (fields: string[]) => void): void {
  let start = body;
  while (start > 0 && start < text.length) {
    const end = text.indexOf('\n', start);
    const line = text.slice(start, end < 0 ? text.length : end);
    start = end < 0 ? text.length : end + 1;
    if (line === '') break;
    if (line.startsWith('#')) continue;
    row(line.includes('"') ? splitCsv(line) : pickFields(line, last));
  }
}

/** The table of the columns asked for; undefined when the text holds no `show stat` header. */
export function readStatTable<C extends string>(text: string, columns: readonly C[]): StatTable<C> | undefined {
  const header = statHeader(text);
  if (!header) return undefined;
  const at = columnsAt(header.names, columns);
  const rows: string[][] = [];
  forEachStatRow(text, header.body, Math.max(...Object.values<number>(at)), (fields) => rows.push(fields));
  return { at, rows };
}

/** The fields up to index `last`. */
function pickFields(line: string, last: number): string[] {
  const fields: string[] = [];
  let from = 0;
  for (let i = 0; i <= last; i++) {
    const comma = line.indexOf(',', from);
    if (comma < 0) {
      fields.push(line.slice(from));
      break;
    }
    fields.push(line.slice(from, comma));
    from = comma + 1;
  }
  return fields;
}

/** HAProxy quotes a field only when it holds a comma or a quote (its csv_enc); most lines have none. */
function splitCsv(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i += 1;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (line[i] === '"') {
          i += 1;
          break;
        } else value += line[i++];
      }
      fields.push(value);
      i += 1; // the comma
    } else {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      fields.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return fields;
}

/** A field as a number; undefined when empty or not one. */
export function statNumber(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}
