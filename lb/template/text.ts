import { describeError } from '../../src/errors.js';
import { type HelperDef, helper, int, list, renderError, str } from './define.js';

/** confd's string, path, encoding and data-shaping functions, with Go's semantics where they differ from JS. */
export const textHelpers: HelperDef[] = [
  helper('base', 1, 1, ([p]) => goBase(str('base', p))),
  helper('dir', 1, 1, ([p]) => goDir(str('dir', p))),
  helper('split', 2, 2, ([s, sep]) => goSplit(str('split', s), str('split', sep))),
  helper('join', 2, 2, ([items, sep]) =>
    list('join', items)
      .map((v) => str('join', v))
      .join(str('join', sep)),
  ),
  helper('toUpper', 1, 1, ([s]) => str('toUpper', s).toUpperCase()),
  helper('toLower', 1, 1, ([s]) => str('toLower', s).toLowerCase()),
  helper('contains', 2, 2, ([s, sub]) => str('contains', s).includes(str('contains', sub))),
  helper('replace', 4, 4, ([s, from, to, n]) => goReplace(str('replace', s), str('replace', from), str('replace', to), int('replace', n))),
  helper('trimSuffix', 2, 2, ([s, suffix]) => {
    const text = str('trimSuffix', s);
    const tail = str('trimSuffix', suffix);
    return tail && text.endsWith(tail) ? text.slice(0, -tail.length) : text;
  }),
  helper('printf', 1, Infinity, ([format, ...args]) => goSprintf(str('printf', format), args)),
  helper('json', 1, 1, ([s]) => parseJson('json', s, 'object')),
  helper('jsonArray', 1, 1, ([s]) => parseJson('jsonArray', s, 'array')),
  helper('toJson', 1, 1, ([value]) => JSON.stringify(value)),
  helper('map', 0, Infinity, (args, options) => createMap(args, options.hash as Record<string, unknown>)),
  helper('parseBool', 1, 1, ([s]) => parseBool(str('parseBool', s))),
  helper('atoi', 1, 1, ([s]) => int('atoi', str('atoi', s))),
  helper('base64Encode', 1, 1, ([s]) => Buffer.from(str('base64Encode', s), 'utf8').toString('base64')),
  helper('base64Decode', 1, 1, ([s]) => base64Decode(str('base64Decode', s))),
];

/** Go's path.Base: the last element, trailing slashes ignored; "" → ".", "/" → "/". */
export function goBase(p: string): string {
  if (p === '') return '.';
  const trimmed = p.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** Go's path.Dir: everything before the last element, cleaned; "a" → ".", "/a" → "/". */
export function goDir(p: string): string {
  return goClean(p.slice(0, p.lastIndexOf('/') + 1));
}

/** Go's path.Clean: the shortest equivalent path ("a//b/../c" → "a/c", "" → "."). */
export function goClean(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
    } else out.push(part);
  }
  const joined = out.join('/');
  return rooted ? `/${joined}` : joined || '.';
}

/** Go's strings.Split: an empty separator splits into characters; an empty string gives [""]. */
function goSplit(s: string, sep: string): string[] {
  return sep === '' ? Array.from(s) : s.split(sep);
}

/** Go's strings.Replace: the first `n` non-overlapping instances, all when n < 0. */
export function goReplace(s: string, from: string, to: string, n: number): string {
  if (n === 0 || from === to) return s;
  if (from === '') {
    const chars = Array.from(s);
    const limit = n < 0 ? chars.length + 1 : Math.min(n, chars.length + 1);
    let out = '';
    for (let i = 0; i <= chars.length; i++) out += (i < limit ? to : '') + (chars[i] ?? '');
    return out;
  }
  const parts = s.split(from);
  if (n < 0 || n >= parts.length - 1) return parts.join(to);
  return parts.slice(0, n + 1).join(to) + from + parts.slice(n + 1).join(from);
}

/** The common verbs of Go's fmt.Sprintf: %s %v %d %q %%. */
function goSprintf(format: string, args: unknown[]): string {
  let next = 0;
  const out = format.replace(/%([svdq%])/g, (_whole, verb: string) => {
    if (verb === '%') return '%';
    if (next >= args.length) return `%!${verb}(MISSING)`;
    const arg = args[next++];
    if (verb === 'd') return String(int('printf', arg));
    if (verb === 'q') return JSON.stringify(str('printf', arg));
    return typeof arg === 'object' && arg !== null ? JSON.stringify(arg) : String(arg);
  });
  return next < args.length ? `${out}%!(EXTRA ${args.length - next})` : out;
}

function parseJson(helperName: string, value: unknown, shape: 'object' | 'array'): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(str(helperName, value));
  } catch (err) {
    throw renderError(helperName, `not JSON: ${describeError(err)}`);
  }
  const isArray = Array.isArray(parsed);
  const ok = shape === 'array' ? isArray : typeof parsed === 'object' && parsed !== null && !isArray;
  if (!ok) throw renderError(helperName, `expected a JSON ${shape}`);
  return parsed;
}

/** confd's `map "k1" v1 "k2" v2`; Handlebars' hash form `(map k1=v1)` works too. */
function createMap(args: unknown[], hash: Record<string, unknown> | undefined): Record<string, unknown> {
  if (args.length % 2 !== 0) throw renderError('map', 'takes key/value pairs (an even number of arguments)');
  const out: Record<string, unknown> = { ...hash };
  for (let i = 0; i < args.length; i += 2) {
    const key = args[i];
    if (typeof key !== 'string') throw renderError('map', 'keys must be strings');
    out[key] = args[i + 1];
  }
  return out;
}

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool: exactly these spellings, anything else is an error. */
function parseBool(s: string): boolean {
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  throw renderError('parseBool', `${JSON.stringify(s)} is not a boolean`);
}

/** Go's base64.StdEncoding: padded, standard alphabet; anything else is an error, never garbage. */
function base64Decode(s: string): string {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw renderError('base64Decode', `${JSON.stringify(s)} is not base64`);
  return Buffer.from(s, 'base64').toString('utf8');
}
