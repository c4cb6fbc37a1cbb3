import { FuncError } from './errors.js';
import { printOne, sprint, sprintf, sprintln } from './fmt.js';
import { byteLength, utf8Bytes } from './quote.js';
import { ANY, compareStrings, GoFloat, GoStruct, intValue, isTrue, kindOf, mapGet, mapSize, REFLECT_VALUE, sliceType, typed, typeName } from './values.js';

/**
 * A function a template can call: its Go signature (parameter types, and
 * the element type of a final ...parameter) and its body. A body reports
 * failure by throwing (Go's second, error result).
 */
export interface GoFunc {
  params: readonly string[];
  variadic?: string;
  call: (args: unknown[]) => unknown;
  /** `and` and `or` evaluate their arguments one at a time (short-circuit). */
  lazy?: 'and' | 'or';
}

export type FuncMap = ReadonlyMap<string, GoFunc>;

export function goFunc(params: readonly string[], call: GoFunc['call'], variadic?: string): GoFunc {
  return variadic === undefined ? { params, call } : { params, variadic, call };
}

const V = REFLECT_VALUE;

/** The value inside an interface: a nil interface is no value at all. */
function indirect(v: unknown): unknown {
  return v === null ? undefined : v;
}

function indexArg(index: unknown, cap: number): number {
  const k = kindOf(index);
  if (k === 'invalid' || k === 'nil') throw new FuncError('cannot index slice/array with nil');
  if (k !== 'int') throw new FuncError(`cannot index slice/array with type ${typeName(index)}`);
  const x = intValue(index);
  if (x < 0 || x > cap) throw new FuncError(`index out of range: ${x}`);
  return x;
}

/** A map key must be a string (Go's prepareArg for map[string]…). */
function mapKey(index: unknown): string {
  if (typeof index === 'string') return index;
  if (index === undefined || index === null) throw new FuncError('value is nil; should be of type string');
  throw new FuncError(`value has type ${typeName(index)}; should be string`);
}

function index(item: unknown, ...indexes: unknown[]): unknown {
  let v = indirect(item);
  if (v === undefined) throw new FuncError('index of untyped nil');
  for (const raw of indexes) {
    const i = indirect(raw);
    if (v === null) throw new FuncError('index of nil pointer');
    switch (kindOf(v)) {
      case 'string': {
        const s = v as string;
        const x = indexArg(i, byteLength(s));
        if (x >= byteLength(s)) throw new FuncError('reflect: string index out of range');
        v = s.length === byteLength(s) ? s.charCodeAt(x) : utf8Bytes(s)[x];
        break;
      }
      case 'slice': {
        const a = v as unknown[];
        const x = indexArg(i, a.length);
        if (x >= a.length) throw new FuncError('reflect: slice index out of range');
        v = a[x];
        break;
      }
      case 'map': {
        const found = mapGet(v as object, mapKey(i));
        v = found === undefined ? null : found;
        break;
      }
      default:
        throw new FuncError(`can't index item of type ${typeName(v)}`);
    }
  }
  return v;
}

function slice(item: unknown, ...indexes: unknown[]): unknown {
  const v = indirect(item);
  if (v === undefined) throw new FuncError('slice of untyped nil');
  if (indexes.length > 3) throw new FuncError(`too many slice indexes: ${indexes.length}`);
  const k = kindOf(v);
  if (k === 'string' && indexes.length === 3) throw new FuncError('cannot 3-index slice a string');
  if (k !== 'string' && k !== 'slice') throw new FuncError(`can't slice item of type ${typeName(v)}`);
  const len = k === 'string' ? byteLength(v as string) : (v as unknown[]).length;
  const idx = [0, len, len];
  indexes.forEach((x, i) => {
    idx[i] = indexArg(indirect(x), len);
  });
  if (idx[0]! > idx[1]!) throw new FuncError(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1]! > idx[2]!) throw new FuncError(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (k === 'string') {
    const s = v as string;
    return s.length === len ? s.slice(idx[0], idx[1]) : Buffer.from(utf8Bytes(s).subarray(idx[0], idx[1])).toString('utf8');
  }
  return typed((v as unknown[]).slice(idx[0], idx[1]), sliceType(v as unknown[]));
}

function length(item: unknown): number {
  if (item === null) throw new FuncError('len of nil pointer');
  switch (kindOf(item)) {
    case 'string':
      return byteLength(item as string);
    case 'slice':
      return (item as unknown[]).length;
    case 'map':
      return mapSize(item as object);
    case 'invalid':
      throw new FuncError('reflect: call of reflect.Value.Type on zero Value');
    default:
      throw new FuncError(`len of type ${typeName(item)}`);
  }
}

type BasicKind = 'bool' | 'int' | 'float' | 'string' | 'invalid';

function basicKind(v: unknown): BasicKind {
  const k = kindOf(v);
  return k === 'bool' || k === 'int' || k === 'float' || k === 'string' ? k : 'invalid';
}

function basicValue(v: unknown): unknown {
  return v instanceof GoFloat ? v.value : kindOf(v) === 'int' ? intValue(v) : v;
}

const BAD_TYPE = 'invalid type for comparison';
const INCOMPATIBLE = 'incompatible types for comparison';

/** == on two structs: field by field (KVPair, net.SRV). */
function structEqual(a: GoStruct, b: GoStruct): boolean {
  return a.goType === b.goType && a.fieldNames().every((f) => sameValue(a.field(f), b.field(f)));
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof GoStruct && b instanceof GoStruct) return structEqual(a, b);
  return basicValue(a) === basicValue(b);
}

/** eq: arg1 == arg2 || arg1 == arg3 …, with Go's rules on which kinds compare. */
export function eq(a: unknown, ...others: unknown[]): boolean {
  const arg1 = indirect(a);
  if (others.length === 0) throw new FuncError('missing argument for comparison');
  const k1 = basicKind(arg1);
  for (const raw of others) {
    const arg = indirect(raw);
    const k2 = basicKind(arg);
    let truth = false;
    if (k1 !== k2) {
      if (arg1 !== undefined && arg !== undefined) throw new FuncError(INCOMPATIBLE);
    } else if (k1 !== 'invalid') truth = basicValue(arg1) === basicValue(arg);
    else {
      const kind1 = kindOf(arg1);
      const kind2 = kindOf(arg);
      if (kind1 !== kind2 && arg1 !== undefined && arg !== undefined)
        throw new FuncError(`non-comparable types ${typeName(arg1)}: ${printOne(arg1)}, ${typeName(arg)}: ${printOne(arg)}`);
      if (arg1 === undefined || arg === undefined) truth = arg1 === arg;
      else if (kind2 === 'struct') truth = structEqual(arg1 as GoStruct, arg as GoStruct);
      else throw new FuncError(`non-comparable type ${printOne(arg)}: ${typeName(arg)}`);
    }
    if (truth) return true;
  }
  return false;
}

export function lt(a: unknown, b: unknown): boolean {
  const arg1 = indirect(a);
  const arg2 = indirect(b);
  const k1 = basicKind(arg1);
  const k2 = basicKind(arg2);
  if (k1 === 'invalid' || k2 === 'invalid') throw new FuncError(BAD_TYPE);
  if (k1 !== k2) throw new FuncError(INCOMPATIBLE);
  if (k1 === 'bool') throw new FuncError(BAD_TYPE);
  if (k1 === 'string') return compareStrings(arg1 as string, arg2 as string) < 0;
  return (basicValue(arg1) as number) < (basicValue(arg2) as number);
}

function le(a: unknown, b: unknown): boolean {
  return lt(a, b) || eq(a, b);
}

/** Go's evalArgs: the text html, js and urlquery escape. */
function evalArgs(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args.map((a) => (a === undefined || a === null ? '<no value>' : a)));
}

const HTML: Record<string, string> = { '\0': '\uFFFD', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' };

export function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => HTML[c]!);
}

const JS: Record<string, string> = { '\\': '\\\\', "'": "\\'", '"': '\\"', '<': '\\u003C', '>': '\\u003E', '&': '\\u0026', '=': '\\u003D' };

export function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const r = ch.codePointAt(0)!;
    if (JS[ch]) out += JS[ch];
    else if (r < 0x20) out += `\\u00${r.toString(16).toUpperCase().padStart(2, '0')}`;
    else if (r < 0x80) out += ch;
    else out += /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch) ? ch : `\\u${r.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return out;
}

/** url.QueryEscape: everything but letters, digits and -_.~ is %XX; a space is +. */
export function queryEscape(s: string): string {
  let out = '';
  for (const b of utf8Bytes(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (b === 0x20) out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** text/template's builtins (funcs.go). `and`/`or` are evaluated by the executor. */
export const BUILTINS: FuncMap = new Map<string, GoFunc>([
  ['and', { params: [V], variadic: V, call: () => undefined, lazy: 'and' }],
  ['or', { params: [V], variadic: V, call: () => undefined, lazy: 'or' }],
  [
    'call',
    goFunc(
      [V],
      ([fn]) => {
        throw new FuncError(indirect(fn) === undefined ? 'call of nil' : `non-function of type ${typeName(fn)}`);
      },
      V,
    ),
  ],
  ['html', goFunc([], (args) => htmlEscape(evalArgs(args)), ANY)],
  ['index', goFunc([V], ([item, ...rest]) => index(item, ...rest), V)],
  ['slice', goFunc([V], ([item, ...rest]) => slice(item, ...rest), V)],
  ['js', goFunc([], (args) => jsEscape(evalArgs(args)), ANY)],
  ['len', goFunc([V], ([item]) => length(item))],
  ['not', goFunc([V], ([a]) => !isTrue(indirect(a)))],
  ['print', goFunc([], (args) => sprint(args), ANY)],
  ['printf', goFunc(['string'], ([format, ...args]) => sprintf(format as string, args), ANY)],
  ['println', goFunc([], (args) => sprintln(args), ANY)],
  ['urlquery', goFunc([], (args) => queryEscape(evalArgs(args)), ANY)],
  ['eq', goFunc([V], ([a, ...rest]) => eq(a, ...rest), V)],
  ['ge', goFunc([V, V], ([a, b]) => !lt(a, b))],
  ['gt', goFunc([V, V], ([a, b]) => !le(a, b))],
  ['le', goFunc([V, V], ([a, b]) => le(a, b))],
  ['lt', goFunc([V, V], ([a, b]) => lt(a, b))],
  ['ne', goFunc([V, V], ([a, b]) => !eq(a, b))],
]);
