import { goBase, goDir, goReplace as replace } from '../text.js';
import { FuncError } from './errors.js';
import { type FuncMap, type GoFunc, goFunc } from './funcs.js';
import type { MemKV } from './memkv.js';
import { byteLength } from './quote.js';
import type { GoTime } from './time.js';
import { ANY, compareStrings, GoFloat, GoStruct, type KVPair, MAP_TYPE, sliceType, typed } from './values.js';

/**
 * confd's template functions (resource/template/template_funcs.go and
 * memkv's store functions), each with its Go signature and behaviour. What
 * they read from the world (keys, environment, clock, DNS, files) comes
 * through ConfdSources, so the engine itself does no I/O.
 */
export interface ConfdSources {
  /** The resource's keys, as confd's memkv store holds them. */
  store: () => MemKV;
  getenv: (name: string) => string | undefined;
  now: () => GoTime;
  /** Addresses of a name, sorted; [] when it does not resolve. */
  lookupIP: (name: string) => string[];
  lookupSRV: (service: string, proto: string, name: string) => SRVRecord[];
  fileExists: (path: string) => boolean;
}

export interface SRVRecord {
  target: string;
  port: number;
  priority: number;
  weight: number;
}

/** net.SRV, as lookupSRV returns it (a []*net.SRV). */
export class GoSRV extends GoStruct {
  readonly goType = '*net.SRV';
  constructor(readonly record: SRVRecord) {
    super();
  }
  fieldNames(): readonly string[] {
    return SRV_FIELDS;
  }
  field(name: string): unknown {
    const r = this.record;
    return { Target: r.target, Port: r.port, Priority: r.priority, Weight: r.weight }[name];
  }
}
const SRV_FIELDS = ['Target', 'Port', 'Priority', 'Weight'] as const;

/** Every name confd defines, known before any render (templates are checked against them when parsed). */
export const CONFD_FUNCTION_NAMES: ReadonlySet<string> = new Set([
  ...'base split json jsonArray dir map getenv join datetime toUpper toLower contains replace trimSuffix'.split(' '),
  ...'lookupIP lookupIPV4 lookupIPV6 lookupSRV fileExists base64Encode base64Decode parseBool reverse'.split(' '),
  ...'sortByLength sortKVByLength add sub div mod mul seq atoi'.split(' '),
  ...'exists ls lsdir get gets getv getvs'.split(' '),
]);

const S = 'string';
const INT = 'int';

/** Go's int is 64 bits: results beyond JS's safe integers wrap as Go's do (losing precision past 2^53). */
function int64(n: number): number {
  if (Number.isSafeInteger(n)) return n === 0 ? 0 : n;
  if (!Number.isFinite(n)) return n;
  return Number(BigInt.asIntN(64, BigInt(Math.trunc(n))));
}

function intOp(op: (a: number, b: number) => number, checkZero = false): GoFunc {
  return goFunc([INT, INT], ([a, b]) => {
    if (checkZero && b === 0) throw new FuncError('runtime error: integer divide by zero');
    return int64(op(a as number, b as number));
  });
}

/** The longest `seq` fabric builds: a typo like `seq 1 1000000000` must not take the router down. */
const MAX_SEQ = 1_000_000;

function seq(first: number, last: number): number[] {
  if (last - first + 1 > MAX_SEQ) throw new FuncError(`seq ${first} ${last}: longer than ${MAX_SEQ} (fabric's limit)`);
  const out: number[] = [];
  for (let i = first; i <= last; i++) out.push(i);
  return typed(out, '[]int');
}

/** strings.Split: "" splits into characters; no separator found is [s]. */
function split(s: string, sep: string): string[] {
  return typed(sep === '' ? Array.from(s) : s.split(sep), '[]string');
}

/** strings.ToUpper/ToLower map one code point to one (JS's "ß" → "SS" is not Go's). */
function mapCase(s: string, upper: boolean): string {
  let out = '';
  for (const ch of s) {
    const mapped = upper ? ch.toUpperCase() : ch.toLowerCase();
    out += [...mapped].length === 1 ? mapped : ch;
  }
  return out;
}

/** encoding/json into interface{}: numbers are float64, arrays []interface {}, objects map[string]interface {}. */
export function fromJson(text: string): unknown {
  return JSON.parse(text, (_key, v) => (typeof v === 'number' ? new GoFloat(v) : Array.isArray(v) ? typed(v, '[]interface {}') : v));
}

function parseJson(text: string, want: 'object' | 'array'): unknown {
  let value: unknown;
  try {
    value = fromJson(text);
  } catch (err) {
    throw new FuncError(err instanceof Error ? err.message : String(err));
  }
  if (value === null) return want === 'object' ? {} : typed([], '[]interface {}');
  const shape = Array.isArray(value) ? 'array' : value instanceof GoFloat ? 'number' : typeof value === 'object' ? 'object' : typeof value;
  if (shape !== want) throw new FuncError(`json: cannot unmarshal ${shape} into Go value of type ${want === 'object' ? MAP_TYPE : '[]interface {}'}`);
  return value;
}

function createMap(values: unknown[]): Record<string, unknown> {
  if (values.length % 2 !== 0) throw new FuncError('invalid map call');
  const out: Record<string, unknown> = {};
  for (let i = 0; i < values.length; i += 2) {
    const key = values[i];
    if (typeof key !== 'string') throw new FuncError('map keys must be strings');
    out[key] = values[i + 1] ?? null;
  }
  return out;
}

/** Reverse works on []string and []memkv.KVPair only (not on gets' memkv.KVPairs), in place, as confd's. */
function reverse(values: unknown): unknown {
  if (Array.isArray(values) && (sliceType(values) === '[]string' || sliceType(values) === '[]memkv.KVPair')) values.reverse();
  return values;
}

/** sort.Sort by length: in place; ties keep their order (Go ≥ 1.19 does too, up to 12 items). */
function sortByLength<T>(values: T[], length: (v: T) => number, type: string): T[] {
  values.sort((a, b) => length(a) - length(b));
  return type === sliceType(values) ? values : typed([...values], type);
}

function parseBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new FuncError(`strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`);
}

function atoi(s: string): number {
  if (!/^[+-]?\d+$/.test(s)) throw new FuncError(`strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
  const n = BigInt(s);
  if (n > 2n ** 63n - 1n || n < -(2n ** 63n)) throw new FuncError(`strconv.Atoi: parsing ${JSON.stringify(s)}: value out of range`);
  return Number(n);
}

/** base64.StdEncoding.DecodeString: padded, standard alphabet, newlines ignored. */
function base64Decode(s: string): string {
  const data = s.replace(/[\r\n]/g, '');
  const bad = data.search(/[^A-Za-z0-9+/=]/);
  const shape = /^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
  if (bad >= 0 || !shape.test(data)) {
    const at = bad >= 0 ? bad : Math.max(0, data.search(/=/) >= 0 ? data.indexOf('=') : data.length - (data.length % 4));
    throw new FuncError(`illegal base64 data at input byte ${at}`);
  }
  return Buffer.from(data, 'base64').toString('utf8');
}

/** confd sorts the addresses: DNS shuffles them, and a new order must not rewrite the file. */
function lookupIP(sources: ConfdSources, name: string): string[] {
  return typed([...sources.lookupIP(name)].sort(compareStrings), '[]string');
}

function ipFilter(ips: string[], family: '.' | ':'): string[] {
  return typed(
    ips.filter((ip) => ip.includes(family)),
    '[]string',
  );
}

/** confd's SRV order: by Target, Port, Priority, Weight printed one after the other. */
function srvKey(r: SRVRecord): string {
  return `${r.target}${r.port}${r.priority}${r.weight}`;
}

/** The function map of one render: confd's functions over these sources. */
export function confdFuncs(sources: ConfdSources): FuncMap {
  let store: MemKV | undefined;
  const kv = () => (store ??= sources.store());
  return new Map<string, GoFunc>([
    ['base', goFunc([S], ([p]) => goBase(p as string))],
    ['split', goFunc([S, S], ([s, sep]) => split(s as string, sep as string))],
    ['json', goFunc([S], ([s]) => parseJson(s as string, 'object'))],
    ['jsonArray', goFunc([S], ([s]) => parseJson(s as string, 'array'))],
    ['dir', goFunc([S], ([p]) => goDir(p as string))],
    ['map', goFunc([], (values) => createMap(values), ANY)],
    ['getenv', goFunc([S], ([name, ...defaults]) => sources.getenv(name as string) || ((defaults[0] as string | undefined) ?? ''), S)],
    ['join', goFunc(['[]string', S], ([items, sep]) => (items as string[]).join(sep as string))],
    ['datetime', goFunc([], () => sources.now())],
    ['toUpper', goFunc([S], ([s]) => mapCase(s as string, true))],
    ['toLower', goFunc([S], ([s]) => mapCase(s as string, false))],
    ['contains', goFunc([S, S], ([s, sub]) => (s as string).includes(sub as string))],
    ['replace', goFunc([S, S, S, INT], ([s, from, to, n]) => replace(s as string, from as string, to as string, n as number))],
    [
      'trimSuffix',
      goFunc([S, S], ([s, suffix]) =>
        (suffix as string) && (s as string).endsWith(suffix as string) ? (s as string).slice(0, -(suffix as string).length) : s,
      ),
    ],
    ['lookupIP', goFunc([S], ([name]) => lookupIP(sources, name as string))],
    ['lookupIPV4', goFunc([S], ([name]) => ipFilter(lookupIP(sources, name as string), '.'))],
    ['lookupIPV6', goFunc([S], ([name]) => ipFilter(lookupIP(sources, name as string), ':'))],
    [
      'lookupSRV',
      goFunc([S, S, S], ([service, proto, name]) => {
        const records = [...sources.lookupSRV(service as string, proto as string, name as string)];
        records.sort((a, b) => (srvKey(a) < srvKey(b) ? -1 : srvKey(a) > srvKey(b) ? 1 : 0));
        return typed(
          records.map((r) => new GoSRV(r)),
          '[]*net.SRV',
        );
      }),
    ],
    ['fileExists', goFunc([S], ([p]) => sources.fileExists(p as string))],
    ['base64Encode', goFunc([S], ([s]) => Buffer.from(s as string, 'utf8').toString('base64'))],
    ['base64Decode', goFunc([S], ([s]) => base64Decode(s as string))],
    ['parseBool', goFunc([S], ([s]) => parseBool(s as string))],
    ['reverse', goFunc([ANY], ([values]) => reverse(values))],
    ['sortByLength', goFunc(['[]string'], ([values]) => sortByLength(values as string[], byteLength, '[]string'))],
    ['sortKVByLength', goFunc(['[]memkv.KVPair'], ([values]) => sortByLength(values as KVPair[], (kv) => byteLength(kv.Key), '[]memkv.KVPair'))],
    ['add', intOp((a, b) => a + b)],
    ['sub', intOp((a, b) => a - b)],
    ['div', intOp((a, b) => Math.trunc(a / b), true)],
    ['mod', intOp((a, b) => a % b, true)],
    ['mul', intOp((a, b) => a * b)],
    ['seq', goFunc([INT, INT], ([first, last]) => seq(first as number, last as number))],
    ['atoi', goFunc([S], ([s]) => atoi(s as string))],
    ['exists', goFunc([S], ([key]) => kv().exists(key as string))],
    ['ls', goFunc([S], ([dir]) => kv().list(dir as string))],
    ['lsdir', goFunc([S], ([dir]) => kv().listDir(dir as string))],
    ['get', goFunc([S], ([key]) => kv().get(key as string))],
    ['gets', goFunc([S], ([pattern]) => kv().getAll(pattern as string))],
    ['getv', goFunc([S], ([key, ...defaults]) => kv().getValue(key as string, defaults as string[]), S)],
    ['getvs', goFunc([S], ([pattern]) => kv().getAllValues(pattern as string))],
  ]);
}
