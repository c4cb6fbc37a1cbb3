/**
 * Go's values as the template engine sees them. JS has one number type and
 * no static types, Go templates depend on both (an int is not a float64,
 * `join` refuses a []interface {}), so:
 * - a JS number is Go's `int`; a GoFloat is `float64` (JSON numbers, float constants);
 * - `undefined` is the invalid value (a missing map key: prints "<no value>");
 *   `null` is a nil interface (JSON null; "<nil>" in fmt);
 * - an array carries its Go type in a hidden tag (default `[]interface {}`);
 * - a plain object (or a Map) is `map[string]interface {}`;
 * - GoStruct subclasses are structs (confd's KVPair, time.Time, net.SRV).
 */

/** Go's float64. */
export class GoFloat {
  constructor(readonly value: number) {}
}

/** A Go struct value: a type name and its fields in declaration order. */
export abstract class GoStruct {
  abstract readonly goType: string;
  abstract fieldNames(): readonly string[];
  abstract field(name: string): unknown;
  /** Struct types with a String method print through it (fmt.Stringer). */
  stringer(): string | undefined {
    return undefined;
  }
}

/** An integer of a named type with a String method (time.Month, time.Weekday). */
export class GoNamedInt {
  constructor(
    readonly goType: string,
    readonly value: number,
    readonly name: string,
  ) {}
}

/** memkv.KVPair, what confd's get and gets return. */
export class KVPair extends GoStruct {
  readonly goType = 'memkv.KVPair';
  constructor(
    readonly Key: string,
    readonly Value: string,
  ) {
    super();
  }
  fieldNames(): readonly string[] {
    return KV_FIELDS;
  }
  field(name: string): unknown {
    return name === 'Key' ? this.Key : name === 'Value' ? this.Value : undefined;
  }
}
const KV_FIELDS = ['Key', 'Value'] as const;

/** A Go method callable from a template: `{{datetime.Format "2006"}}`. */
export interface GoMethod {
  params: readonly string[];
  call: (args: unknown[]) => unknown;
}

/** Values with methods expose them here (looked up before fields, as Go does). */
export interface HasMethods {
  method(name: string): GoMethod | undefined;
}

export function hasMethods(value: unknown): value is HasMethods {
  return typeof value === 'object' && value !== null && typeof (value as Partial<HasMethods>).method === 'function';
}

const SLICE_TYPE = Symbol('go.sliceType');

/** Tags `items` with its Go slice type ("[]string", "memkv.KVPairs"…) and returns it. */
export function typed<T extends unknown[]>(items: T, goType: string): T {
  (items as unknown as Record<symbol, string>)[SLICE_TYPE] = goType;
  return items;
}

export function sliceType(items: unknown[]): string {
  return (items as unknown as Record<symbol, string | undefined>)[SLICE_TYPE] ?? '[]interface {}';
}

export const ANY = 'interface {}';
export const REFLECT_VALUE = 'reflect.Value';
export const MAP_TYPE = 'map[string]interface {}';

/** Go's reflect.Kind, reduced to what templates can meet. */
export type Kind = 'invalid' | 'nil' | 'bool' | 'int' | 'float' | 'string' | 'slice' | 'map' | 'struct';

export function kindOf(v: unknown): Kind {
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return 'int';
    case 'boolean':
      return 'bool';
    case 'undefined':
      return 'invalid';
    case 'object':
      if (v === null) return 'nil';
      if (v instanceof GoFloat) return 'float';
      if (v instanceof GoNamedInt) return 'int';
      if (Array.isArray(v)) return 'slice';
      if (v instanceof GoStruct) return 'struct';
      return 'map';
    default:
      return 'invalid';
  }
}

/** The Go type's name, as Go's errors and %T print it. */
export function typeName(v: unknown): string {
  switch (kindOf(v)) {
    case 'string':
      return 'string';
    case 'int':
      return v instanceof GoNamedInt ? v.goType : 'int';
    case 'float':
      return 'float64';
    case 'bool':
      return 'bool';
    case 'nil':
      return ANY;
    case 'slice':
      return sliceType(v as unknown[]);
    case 'struct':
      return (v as GoStruct).goType;
    case 'map':
      return MAP_TYPE;
    default:
      return 'invalid';
  }
}

/** An integer's value (int or a named int type). */
export function intValue(v: unknown): number {
  return v instanceof GoNamedInt ? v.value : (v as number);
}

/** A map's entries: plain objects and JS Maps (fabric's model may hold either). */
export function mapGet(m: object, key: string): unknown {
  if (m instanceof Map) return m.has(key) ? (m.get(key) ?? null) : undefined;
  if (!Object.hasOwn(m, key)) return undefined;
  return (m as Record<string, unknown>)[key] ?? null;
}

export function mapKeys(m: object): string[] {
  return m instanceof Map ? [...m.keys()].map(String) : Object.keys(m);
}

export function mapSize(m: object): number {
  return m instanceof Map ? m.size : Object.keys(m).length;
}

/** Go's string order: bytes of UTF-8, which is code point order (JS's < compares UTF-16 units). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (astral code points) sort after every BMP character in UTF-8.
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

export function sortedKeys(m: object): string[] {
  return mapKeys(m).sort(compareStrings);
}

/** Go's template truth: not the zero value of its type; structs are always true. */
export function isTrue(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
      return v.length > 0;
    case 'number':
      return v !== 0;
    case 'boolean':
      return v;
    case 'undefined':
      return false;
    default:
      if (v === null) return false;
      if (v instanceof GoFloat) return v.value !== 0;
      if (v instanceof GoNamedInt) return v.value !== 0;
      if (Array.isArray(v)) return v.length > 0;
      if (v instanceof GoStruct) return true;
      return mapSize(v as object) > 0;
  }
}

/** Whether a value of type `from` may be passed where `to` is declared (Go's AssignableTo, for our types). */
export function assignable(from: string, to: string): boolean {
  if (from === to || to === ANY) return true;
  // memkv.KVPairs is a named []memkv.KVPair: assignable both ways.
  return (from === 'memkv.KVPairs' && to === '[]memkv.KVPair') || (from === '[]memkv.KVPair' && to === 'memkv.KVPairs');
}

/** Types an untyped nil may become (reflect.Zero of them), and what that zero is. */
export function zeroOf(type: string): { ok: true; value: unknown } | { ok: false } {
  if (type === ANY) return { ok: true, value: null };
  if (type === REFLECT_VALUE) return { ok: true, value: undefined };
  if (type.startsWith('[]') || type === 'memkv.KVPairs') return { ok: true, value: typed([], type) };
  if (type.startsWith('map[')) return { ok: true, value: {} };
  if (type.startsWith('*')) return { ok: true, value: null };
  return { ok: false };
}

/** The basic types whose literal constants a parameter may take. */
export type ParamKind = 'bool' | 'int' | 'float' | 'string' | 'any' | 'other';

export function paramKind(type: string): ParamKind {
  switch (type) {
    case 'bool':
      return 'bool';
    case 'int':
    case 'int64':
    case 'time.Duration':
      return 'int';
    case 'float64':
      return 'float';
    case 'string':
      return 'string';
    case ANY:
    case REFLECT_VALUE:
      return 'any';
    default:
      return 'other';
  }
}
