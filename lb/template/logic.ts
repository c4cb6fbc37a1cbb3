import { type HelperDef, helper, int } from './define.js';

/**
 * Go templates' built-in comparisons and logic, which confd templates use
 * everywhere (Handlebars has only `#if` / `#unless`). `eq` and `ne` are
 * fabric's own (lb/render.ts). Truthiness is Go's: false, 0, "", empty lists
 * and nothing are false.
 */
export const logicHelpers: HelperDef[] = [
  helper('and', 1, Infinity, (args) => args.find((a) => !truthy(a)) ?? args[args.length - 1]),
  helper('or', 1, Infinity, (args) => args.find(truthy) ?? args[args.length - 1]),
  helper('not', 1, 1, ([a]) => !truthy(a)),
  helper('len', 1, 1, ([a]) => (Array.isArray(a) || typeof a === 'string' ? a.length : a && typeof a === 'object' ? Object.keys(a).length : 0)),
  helper('lt', 2, 2, ([a, b]) => compare('lt', a, b) < 0),
  helper('le', 2, 2, ([a, b]) => compare('le', a, b) <= 0),
  helper('gt', 2, 2, ([a, b]) => compare('gt', a, b) > 0),
  helper('ge', 2, 2, ([a, b]) => compare('ge', a, b) >= 0),
];

function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value && typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}

/** Two strings compare as text; otherwise both must be integers (or integer text). */
function compare(helperName: string, a: unknown, b: unknown): number {
  if (typeof a === 'string' && typeof b === 'string' && !(/^[+-]?\d+$/.test(a) && /^[+-]?\d+$/.test(b))) return a < b ? -1 : a > b ? 1 : 0;
  return int(helperName, a) - int(helperName, b);
}
