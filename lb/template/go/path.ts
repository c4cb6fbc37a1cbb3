/**
 * Go's path package as confd's key functions use it: Match (the glob of
 * `gets` and `getvs`) and Clean (memkv's key terms).
 */
import { goClean } from '../text.js';

export class BadPatternError extends Error {
  constructor() {
    super('syntax error in pattern');
  }
}

/** path.Clean: the shortest equivalent path ("a//b/../c" → "a/c", "" → "."). */
export const clean = goClean;

/** path.Join of two elements. */
export function join(a: string, b: string): string {
  if (a === '' && b === '') return '';
  return clean(a === '' ? b : b === '' ? a : `${a}/${b}`);
}

/** [star, chunk, rest]: a run of `*`, then the pattern up to the next unbracketed `*`. */
function scanChunk(pattern: string): [boolean, string, string] {
  let star = false;
  let p = pattern;
  while (p.startsWith('*')) {
    p = p.slice(1);
    star = true;
  }
  let inRange = false;
  let i = 0;
  scan: for (; i < p.length; i++) {
    switch (p[i]) {
      case '\\':
        if (i + 1 < p.length) i++;
        break;
      case '[':
        inRange = true;
        break;
      case ']':
        inRange = false;
        break;
      case '*':
        if (!inRange) break scan;
    }
  }
  return [star, p.slice(0, i), p.slice(i)];
}

function firstRune(s: string): [number, number] {
  const r = s.codePointAt(0)!;
  return [r, r > 0xffff ? 2 : 1];
}

/** One escaped-or-not character of a class: [rune, rest]. */
function getEsc(chunk: string): [number, string] {
  if (chunk === '' || chunk[0] === '-' || chunk[0] === ']') throw new BadPatternError();
  let c = chunk;
  if (c[0] === '\\') {
    c = c.slice(1);
    if (c === '') throw new BadPatternError();
  }
  const [r, n] = firstRune(c);
  const rest = c.slice(n);
  if (rest === '') throw new BadPatternError();
  return [r, rest];
}

/** matchChunk: the rest of `s` after `chunk` matched its start, or undefined. */
function matchChunk(chunk: string, s: string): string | undefined {
  let failed = false;
  let c = chunk;
  while (c.length > 0) {
    if (!failed && s.length === 0) failed = true;
    switch (c[0]) {
      case '[': {
        let r = 0;
        if (!failed) {
          const [rr, n] = firstRune(s);
          r = rr;
          s = s.slice(n);
        }
        c = c.slice(1);
        let negated = false;
        if (c[0] === '^') {
          negated = true;
          c = c.slice(1);
        }
        let match = false;
        let nrange = 0;
        for (;;) {
          if (c[0] === ']' && nrange > 0) {
            c = c.slice(1);
            break;
          }
          let lo: number;
          let hi: number;
          [lo, c] = getEsc(c);
          hi = lo;
          if (c[0] === '-') [hi, c] = getEsc(c.slice(1));
          if (lo <= r && r <= hi) match = true;
          nrange++;
        }
        if (match === negated) failed = true;
        break;
      }
      case '?':
        if (!failed) {
          if (s[0] === '/') failed = true;
          s = s.slice(firstRune(s)[1]);
        }
        c = c.slice(1);
        break;
      case '\\':
        c = c.slice(1);
        if (c === '') throw new BadPatternError();
        if (!failed) {
          if (c[0] !== s[0]) failed = true;
          s = s.slice(1);
        }
        c = c.slice(1);
        break;
      default:
        if (!failed) {
          if (c[0] !== s[0]) failed = true;
          s = s.slice(1);
        }
        c = c.slice(1);
    }
  }
  return failed ? undefined : s;
}

/** path.Match: `*` and `?` never cross a `/`; a malformed pattern throws BadPatternError. */
export function match(pattern: string, name: string): boolean {
  let p = pattern;
  let n = name;
  outer: while (p.length > 0) {
    const [star, chunk, rest] = scanChunk(p);
    p = rest;
    if (star && chunk === '') return !n.includes('/');
    const t = matchChunk(chunk, n);
    if (t !== undefined && (t.length === 0 || p.length > 0)) {
      n = t;
      continue;
    }
    if (star) {
      for (let i = 0; i < n.length && n[i] !== '/'; i++) {
        const t2 = matchChunk(chunk, n.slice(i + 1));
        if (t2 !== undefined) {
          if (p.length === 0 && t2.length > 0) continue;
          n = t2;
          continue outer;
        }
      }
    }
    // Check the rest of the pattern for syntax errors before giving up.
    while (p.length > 0) {
      const [, c, r] = scanChunk(p);
      p = r;
      matchChunk(c, '');
    }
    return false;
  }
  return n.length === 0;
}

/** Whether `pattern` is well formed (every chunk parses). */
export function validPattern(pattern: string): boolean {
  try {
    for (let p = pattern; p.length > 0; ) {
      const [, c, r] = scanChunk(p);
      p = r;
      matchChunk(c, '');
    }
    return true;
  } catch (err) {
    if (err instanceof BadPatternError) return false;
    throw err;
  }
}

/** The pattern's text before its first special character: every match starts with it. */
export function literalPrefix(pattern: string): string {
  const i = pattern.search(/[*?[\\]/);
  return i < 0 ? pattern : pattern.slice(0, i);
}
