/**
 * A small aligned-table formatter for `fabric get`: upper-case headers, each
 * column as wide as its widest cell, three spaces between columns, no
 * trailing blanks. Styling (bold headers) is applied after padding, so
 * escape codes never disturb the alignment, and only when asked for (a TTY).
 */
export interface Column<Row> {
  header: string;
  value: (row: Row) => string;
}

export interface TableOptions {
  /** Bold headers: only for a terminal that wants colour. */
  color?: boolean;
}

const GAP = '   ';

export function formatTable<Row>(columns: Column<Row>[], rows: Row[], options: TableOptions = {}): string {
  const header = columns.map((c) => c.header.toUpperCase());
  const cells = rows.map((row) => columns.map((c) => clean(c.value(row))));
  // A fold, not Math.max(...cells): spreading 100k rows into one call overflows the stack.
  const widths = header.map((h, i) => cells.reduce((widest, r) => Math.max(widest, width(r[i]!)), width(h)));
  const lines = [styleHeader(alignRow(header, widths), options), ...cells.map((r) => alignRow(r, widths))];
  return `${lines.join('\n')}\n`;
}

function alignRow(cells: string[], widths: number[]): string {
  return cells
    .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - width(cell))))
    .join(GAP)
    .trimEnd();
}

/** Cells are one line, and an empty one shows as `-` so columns stay readable. */
function clean(text: string): string {
  const single = text.replace(/\s+/g, ' ').trim();
  return single === '' ? '-' : single;
}

/** Display width: code points (values are restricted to ASCII by the grammar, names may not be). */
function width(text: string): number {
  return [...text].length;
}

function styleHeader(line: string, options: TableOptions): string {
  return options.color ? `\u001b[1m${line}\u001b[0m` : line;
}

/** Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function wantsColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== 'dumb';
}
