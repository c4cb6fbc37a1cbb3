/**
 * Go's strconv quoting and unquoting, and the UTF-8 facts Go's strings are
 * made of (JS strings are UTF-16: lengths and offsets differ once a string
 * leaves ASCII).
 */

const ASCII = /^[^\u0080-\uffff]*$/;

/** len(s) in Go: bytes of UTF-8. */
export function byteLength(s: string): number {
  return ASCII.test(s) ? s.length : Buffer.byteLength(s, 'utf8');
}

/** utf8.RuneCountInString. */
export function runeCount(s: string): number {
  if (ASCII.test(s)) return s.length;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) i++;
    n++;
  }
  return n;
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export function isPrint(r: number): boolean {
  if (r < 0x80) return r >= 0x20 && r < 0x7f;
  if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return false;
  return PRINTABLE.test(String.fromCodePoint(r));
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function escapeRune(r: number, quote: number, asciiOnly: boolean): string {
  if (r === quote || r === 0x5c) return `\\${String.fromCharCode(r)}`;
  if (asciiOnly ? r < 0x80 && isPrint(r) : isPrint(r)) return String.fromCodePoint(r);
  switch (r) {
    case 0x07:
      return '\\a';
    case 0x08:
      return '\\b';
    case 0x0c:
      return '\\f';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x0b:
      return '\\v';
  }
  if (r < 0x20 || r === 0x7f) return `\\x${hex(r, 2)}`;
  if (r < 0x10000) return `\\u${hex(r, 4)}`;
  return `\\U${hex(r, 8)}`;
}

function quoteWith(s: string, quote: number, asciiOnly: boolean): string {
  const q = String.fromCharCode(quote);
  let out = q;
  for (const ch of s) out += escapeRune(ch.codePointAt(0)!, quote, asciiOnly);
  return out + q;
}

/** strconv.Quote. */
export function quote(s: string): string {
  return quoteWith(s, 0x22, false);
}

/** strconv.QuoteToASCII. */
export function quoteToASCII(s: string): string {
  return quoteWith(s, 0x22, true);
}

/** strconv.QuoteRune (an invalid rune is U+FFFD). */
export function quoteRune(r: number, asciiOnly = false): string {
  return quoteWith(String.fromCodePoint(validRune(r)), 0x27, asciiOnly);
}

export function validRune(r: number): number {
  return r < 0 || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff) ? 0xfffd : r;
}

/** strconv.CanBackquote: one line, no control characters but tab, no backquote, no BOM. */
export function canBackquote(s: string): boolean {
  for (const ch of s) {
    const r = ch.codePointAt(0)!;
    if (r === 0x60 || r === 0xfeff) return false;
    if (r < 0x20 ? r !== 0x09 : r === 0x7f) return false;
  }
  return true;
}

export class QuoteSyntaxError extends Error {
  constructor() {
    super('invalid syntax');
  }
}

const SIMPLE: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

/**
 * strconv.UnquoteChar on `s` at `i` (inside a literal quoted with `quote`):
 * the code point and where the next one starts.
 */
function unquoteChar(s: string, i: number, quote: string): [number, number] {
  const c = s[i]!;
  if (c === quote && (quote === "'" || quote === '"')) throw new QuoteSyntaxError();
  if (c !== '\\') return [s.codePointAt(i)!, i + (s.codePointAt(i)! > 0xffff ? 2 : 1)];
  const e = s[i + 1];
  if (e === undefined) throw new QuoteSyntaxError();
  if (e in SIMPLE) return [SIMPLE[e]!.charCodeAt(0), i + 2];
  if (e === "'" || e === '"') {
    if (e !== quote) throw new QuoteSyntaxError();
    return [e.charCodeAt(0), i + 2];
  }
  const digits = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
  if (digits) {
    const text = s.slice(i + 2, i + 2 + digits);
    if (text.length !== digits || !/^[0-9a-fA-F]+$/.test(text)) throw new QuoteSyntaxError();
    const r = parseInt(text, 16);
    if (e !== 'x' && (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))) throw new QuoteSyntaxError();
    return [r, i + 2 + digits];
  }
  if (e >= '0' && e <= '7') {
    const text = s.slice(i + 1, i + 4);
    if (!/^[0-7]{3}$/.test(text)) throw new QuoteSyntaxError();
    const r = parseInt(text, 8);
    if (r > 255) throw new QuoteSyntaxError();
    return [r, i + 4];
  }
  throw new QuoteSyntaxError();
}

/**
 * strconv.Unquote of a "…", `…` or '…' literal. \x escapes above 0x7f are
 * bytes in Go; here they become the code point of the same number (the only
 * difference: JS strings cannot hold broken UTF-8).
 */
export function unquote(literal: string): string {
  const q = literal[0];
  if (literal.length < 2 || literal[literal.length - 1] !== q) throw new QuoteSyntaxError();
  const body = literal.slice(1, -1);
  if (q === '`') {
    if (body.includes('`')) throw new QuoteSyntaxError();
    return body.replaceAll('\r', '');
  }
  if (q !== '"' && q !== "'") throw new QuoteSyntaxError();
  if (body.includes('\n')) throw new QuoteSyntaxError();
  if (q === '"' && !body.includes('\\') && !body.includes('"')) return body;
  let out = '';
  let count = 0;
  for (let i = 0; i < body.length; count++) {
    const [r, next] = unquoteChar(body, i, q);
    out += String.fromCodePoint(r);
    i = next;
  }
  if (q === "'" && count !== 1) throw new QuoteSyntaxError();
  return out;
}

/** A character constant's code point: 'a', '\n', '\u00e9'. */
export function unquoteRune(literal: string): number {
  return unquote(literal).codePointAt(0)!;
}

/** The UTF-8 bytes of a string (what %x and slicing see). */
export function utf8Bytes(s: string): Uint8Array {
  return Buffer.from(s, 'utf8');
}
