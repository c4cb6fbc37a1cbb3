/**
 * Pure: HAProxy's `show stat` CSV, only what a check verdict needs. One line
 * per server (`show stat -1 4 -1` asks for servers only); columns are found by
 * the header's names, so the column order of another HAProxy version is fine.
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

const COLUMNS = [
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

/** Undefined when the answer has no `show stat` header (an error message, an empty answer). */
export function parseShowStat(text: string): ServerCheckRow[] | undefined {
  const newline = text.indexOf('\n');
  const header = newline < 0 ? text : text.slice(0, newline);
  if (!header.startsWith('# pxname,')) return undefined;
  const names = header.slice(2).split(',');
  const at = Object.fromEntries(COLUMNS.map((c) => [c, names.indexOf(c)])) as Record<(typeof COLUMNS)[number], number>;
  if (at.pxname < 0 || at.svname < 0 || at.status < 0) return undefined;
  const last = Math.max(...Object.values(at));
  const rows: ServerCheckRow[] = [];
  let start = newline + 1;
  while (start > 0 && start < text.length) {
    const end = text.indexOf('\n', start);
    const line = text.slice(start, end < 0 ? text.length : end);
    start = end < 0 ? text.length : end + 1;
    if (line === '' || line.startsWith('#')) continue;
    const f = line.includes('"') ? splitCsv(line) : pickFields(line, last);
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

/** The fields up to index `last`: a server line has ~130, the verdict needs the first ~70 (10,000 lines a second). */
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
  if (!line.includes('"')) return line.split(',');
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

function num(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}
