import { stringify as toYaml } from 'yaml';
import { FabricError } from '../errors.js';
import { type Column, formatTable } from './table.js';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(text: string): OutputFormat {
  const format = OUTPUT_FORMATS.find((f) => f === text);
  if (!format) throw new FabricError('FABRIC_ERR_CONFIG', `-o ${text}: expected one of ${OUTPUT_FORMATS.join(', ')}`);
  return format;
}

/** Rows as an aligned table, or the same objects as JSON or YAML (a list, possibly empty). */
export function renderRows<Row>(rows: Row[], columns: Column<Row>[], format: OutputFormat, color: boolean): string {
  if (format === 'json') return `${JSON.stringify(rows, null, 2)}\n`;
  if (format === 'yaml') return toYaml(rows);
  return formatTable(columns, rows, { color });
}
