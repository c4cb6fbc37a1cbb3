import type { Item } from './lex.js';
import type { NumberNode } from './nodes.js';
import { unquoteRune } from './quote.js';

/**
 * Number constants as text/template's parser reads them (parse.NumberNode):
 * Go's integer syntax (0x, 0o, 0b, leading-0 octal, underscores), floats
 * (hex floats too), character constants; and which of int, uint and float a
 * constant can be.
 */

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** strconv.ParseInt/ParseUint with base 0: 0x, 0o, 0b, leading-0 octal, underscores between digits. */
function parseGoInteger(text: string): bigint | undefined {
  let s = text;
  let sign = 1n;
  if (s[0] === '+' || s[0] === '-') {
    if (s[0] === '-') sign = -1n;
    s = s.slice(1);
  }
  let base = 10;
  let digits = s;
  let prefixed = false;
  if (/^0[xX]/.test(s)) [base, digits, prefixed] = [16, s.slice(2), true];
  else if (/^0[oO]/.test(s)) [base, digits, prefixed] = [8, s.slice(2), true];
  else if (/^0[bB]/.test(s)) [base, digits, prefixed] = [2, s.slice(2), true];
  else if (/^0\d/.test(s) || /^0_/.test(s)) [base, digits] = [8, s.slice(1)];
  if (digits.includes('_')) {
    // Underscores only between digits (a base prefix counts as one).
    if (/__|_$|^_/.test(s)) return undefined;
    digits = digits.replaceAll('_', '');
  }
  if (digits === '') return base === 8 && !prefixed ? 0n : undefined;
  const valid = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^\d+$/, 16: /^[0-9a-fA-F]+$/ }[base as 2 | 8 | 10 | 16];
  if (!valid.test(digits)) return undefined;
  const prefix = base === 16 ? '0x' : base === 8 ? '0o' : base === 2 ? '0b' : '';
  return sign * BigInt(prefix + digits);
}

/** strconv.ParseFloat for what the lexer lets through (decimal and hex floats, underscores). */
function parseGoFloat(text: string): number | undefined {
  const s = text.replaceAll('_', '');
  if (/^[+-]?0[xX]/.test(s)) {
    const m = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/.exec(s);
    if (!m || (m[2] === '' && !m[3])) return undefined;
    const mantissa = parseInt(`${m[2]}${m[3] ?? ''}` || '0', 16) / 16 ** (m[3]?.length ?? 0);
    const v = mantissa * 2 ** Number(m[4]);
    return m[1] === '-' ? -v : v;
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}

export function parseNumber(item: Item): NumberNode {
  const text = item.val;
  const n: NumberNode = { type: 'number', pos: item.pos, text, isInt: false, isUint: false, isFloat: false, int: 0, float: 0 };
  if (item.type === 'charConstant') {
    const r = unquoteRune(text);
    return { ...n, isInt: true, isUint: true, isFloat: true, int: r, float: r };
  }
  if (item.type === 'complex' || text.endsWith('i')) throw new Error(`complex number ${text} is not supported`);
  const big = parseGoInteger(text);
  if (big !== undefined) {
    n.isUint = big >= 0n && big <= UINT64_MAX;
    n.isInt = big >= INT64_MIN && big <= INT64_MAX;
    if (n.isInt || n.isUint) {
      n.int = Number(big);
      n.isFloat = true;
      n.float = Number(big);
      return n;
    }
  }
  const f = parseGoFloat(text);
  if (f !== undefined && Number.isFinite(f)) {
    if (!/[.eEpP]/.test(text)) throw new Error(`integer overflow: ${JSON.stringify(text)}`);
    n.isFloat = true;
    n.float = f;
    if (Number.isInteger(f) && Math.abs(f) < 2 ** 63) {
      n.isInt = true;
      n.int = f;
    }
    if (Number.isInteger(f) && f >= 0 && f < 2 ** 64) {
      n.isUint = true;
      n.int = f;
    }
    return n;
  }
  throw new Error(`illegal number syntax: ${JSON.stringify(text)}`);
}
