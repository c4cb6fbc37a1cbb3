import { type FloatVerb, formatFloat } from './ftoa.js';
import { canBackquote, isPrint, quote, quoteRune, quoteToASCII, runeCount, utf8Bytes, validRune } from './quote.js';
import { GoFloat, GoNamedInt, GoStruct, intValue, kindOf, mapGet, sortedKeys, typeName } from './values.js';

/**
 * Go's fmt printer (fmt/print.go's pp and fmt/format.go's fmt) over the
 * engine's values: one verb applied to one value, with the flags, width and
 * precision set on it; the %!verb(type=value) complaints.
 */
export class Printer {
  buf = '';
  minus = false;
  plus = false;
  sharp = false;
  space = false;
  zero = false;
  plusV = false;
  sharpV = false;
  widPresent = false;
  precPresent = false;
  wid = 0;
  prec = 0;
  erroring = false;

  clearFlags(): void {
    this.minus = this.plus = this.sharp = this.space = this.zero = this.plusV = this.sharpV = false;
    this.widPresent = this.precPresent = false;
    this.wid = this.prec = 0;
  }

  private writePadding(n: number): void {
    if (n > 0) this.buf += (this.zero ? '0' : ' ').repeat(n);
  }

  /** Pads to the width (in runes); zero padding only where fmt allows it. */
  pad(s: string): void {
    if (!this.widPresent || this.wid === 0) {
      this.buf += s;
      return;
    }
    const width = this.wid - runeCount(s);
    if (this.minus) {
      this.buf += s;
      this.writePadding(width);
    } else {
      this.writePadding(width);
      this.buf += s;
    }
  }

  private padNoZero(s: string): void {
    const zero = this.zero;
    this.zero = false;
    this.pad(s);
    this.zero = zero;
  }

  private truncate(s: string): string {
    if (!this.precPresent) return s;
    let n = this.prec;
    let i = 0;
    for (const ch of s) {
      if (n-- <= 0) return s.slice(0, i);
      i += ch.length;
    }
    return s;
  }

  fmtInteger(value: number, base: number, verb: string, upper: boolean): void {
    const negative = value < 0;
    let digits = Math.abs(value).toString(base);
    if (upper) digits = digits.toUpperCase();
    let prec = 0;
    if (this.precPresent) {
      prec = this.prec;
      if (prec === 0 && value === 0) {
        const zero = this.zero;
        this.zero = false;
        this.writePadding(this.wid);
        this.zero = zero;
        return;
      }
    } else if (this.zero && this.widPresent) {
      prec = this.wid;
      if (negative || this.plus || this.space) prec--;
    }
    if (digits.length < prec) digits = digits.padStart(prec, '0');
    if (this.sharp) {
      if (base === 2) digits = `0b${digits}`;
      else if (base === 8 && digits[0] !== '0') digits = `0${digits}`;
      else if (base === 16) digits = `${upper ? '0X' : '0x'}${digits}`;
    }
    if (verb === 'O') digits = `0o${digits}`;
    if (negative) digits = `-${digits}`;
    else if (this.plus) digits = `+${digits}`;
    else if (this.space) digits = ` ${digits}`;
    this.padNoZero(digits);
  }

  private fmtUnicode(u: number): void {
    // fmt takes the rune as a uint64: -1 is U+FFFFFFFFFFFFFFFF.
    let digits = (u < 0 ? BigInt.asUintN(64, BigInt(u)) : u).toString(16).toUpperCase();
    const prec = this.precPresent && this.prec > 4 ? this.prec : 4;
    digits = digits.padStart(prec, '0');
    let out = `U+${digits}`;
    if (this.sharp && u <= 0x10ffff && isPrint(u)) out += ` '${String.fromCodePoint(u)}'`;
    this.padNoZero(out);
  }

  private fmtFloat(v: number, verb: FloatVerb | 'v', prec: number): void {
    const format: FloatVerb = verb === 'v' ? 'g' : verb;
    if (this.precPresent) prec = this.prec;
    let num = formatFloat(v, format, prec);
    if (num[0] !== '-' && num[0] !== '+') num = `+${num}`;
    if (this.space && num[0] === '+' && !this.plus) num = ` ${num.slice(1)}`;
    if (num[1] === 'I' || num[1] === 'N') {
      if (num[1] === 'N' && !this.space && !this.plus) num = num.slice(1);
      this.padNoZero(num);
      return;
    }
    if (this.sharp && verb !== 'b') num = sharpFloat(num, verb, prec);
    if (this.plus || num[0] !== '+') {
      if (this.zero && this.widPresent && this.wid > num.length) {
        this.buf += num[0];
        this.writePadding(this.wid - num.length);
        this.buf += num.slice(1);
        return;
      }
      this.pad(num);
      return;
    }
    this.pad(num.slice(1));
  }

  private fmtSx(s: string, upper: boolean): void {
    let bytes = utf8Bytes(s);
    if (this.precPresent && this.prec < bytes.length) bytes = bytes.subarray(0, this.prec);
    const length = bytes.length;
    let width = 2 * length;
    if (width === 0) {
      if (this.widPresent) this.writePadding(this.wid);
      return;
    }
    if (this.space) {
      if (this.sharp) width *= 2;
      width += length - 1;
    } else if (this.sharp) width += 2;
    if (this.widPresent && this.wid > width && !this.minus) this.writePadding(this.wid - width);
    const x = upper ? '0X' : '0x';
    let out = this.sharp ? x : '';
    for (let i = 0; i < length; i++) {
      if (this.space && i > 0) out += this.sharp ? ` ${x}` : ' ';
      const h = bytes[i]!.toString(16).padStart(2, '0');
      out += upper ? h.toUpperCase() : h;
    }
    this.buf += out;
    if (this.widPresent && this.wid > width && this.minus) this.writePadding(this.wid - width);
  }

  private fmtQ(s: string): void {
    s = this.truncate(s);
    if (this.sharp && canBackquote(s)) this.pad(`\`${s}\``);
    else this.pad(this.plus ? quoteToASCII(s) : quote(s));
  }

  private fmtString(s: string, verb: string, value: unknown): void {
    switch (verb) {
      case 'v':
        if (this.sharpV) this.fmtQ(s);
        else this.pad(this.truncate(s));
        return;
      case 's':
        this.pad(this.truncate(s));
        return;
      case 'x':
      case 'X':
        this.fmtSx(s, verb === 'X');
        return;
      case 'q':
        this.fmtQ(s);
        return;
      default:
        this.badVerb(verb, value);
    }
  }

  private fmtInt(v: number, verb: string, value: unknown): void {
    switch (verb) {
      case 'v':
      case 'd':
        this.fmtInteger(v, 10, verb, false);
        return;
      case 'b':
        this.fmtInteger(v, 2, verb, false);
        return;
      case 'o':
      case 'O':
        this.fmtInteger(v, 8, verb, false);
        return;
      case 'x':
        this.fmtInteger(v, 16, verb, false);
        return;
      case 'X':
        this.fmtInteger(v, 16, verb, true);
        return;
      case 'c':
        this.pad(String.fromCodePoint(validRune(v)));
        return;
      case 'q':
        this.pad(quoteRune(v, this.plus));
        return;
      case 'U':
        this.fmtUnicode(v);
        return;
      default:
        this.badVerb(verb, value);
    }
  }

  private fmtFloatVerb(v: number, verb: string, value: unknown): void {
    switch (verb) {
      case 'v':
        this.fmtFloat(v, 'v', -1);
        return;
      case 'b':
      case 'g':
      case 'G':
      case 'x':
      case 'X':
        this.fmtFloat(v, verb, -1);
        return;
      case 'f':
      case 'e':
      case 'E':
        this.fmtFloat(v, verb, 6);
        return;
      case 'F':
        this.fmtFloat(v, 'f', 6);
        return;
      default:
        this.badVerb(verb, value);
    }
  }

  /** %!verb(type=value), or %!verb(<nil>). */
  badVerb(verb: string, value: unknown): void {
    this.erroring = true;
    this.buf += `%!${verb}(`;
    if (value === undefined || value === null) this.buf += '<nil>';
    else {
      this.buf += `${typeName(value)}=`;
      this.printArg(value, 'v');
    }
    this.buf += ')';
    this.erroring = false;
  }

  /** A value with a String method prints through it for %v %s %x %X %q. */
  private handleMethods(value: unknown, verb: string): boolean {
    if (this.erroring || this.sharpV) return false;
    if (verb !== 'v' && verb !== 's' && verb !== 'x' && verb !== 'X' && verb !== 'q') return false;
    const text = value instanceof GoNamedInt ? value.name : value instanceof GoStruct ? value.stringer() : undefined;
    if (text === undefined) return false;
    this.fmtString(text, verb, value);
    return true;
  }

  printArg(arg: unknown, verb: string): void {
    if (arg === undefined || arg === null) {
      if (verb === 'T' || verb === 'v') this.pad('<nil>');
      else this.badVerb(verb, arg);
      return;
    }
    if (verb === 'T') {
      this.pad(this.truncate(typeName(arg)));
      return;
    }
    if (verb === 'p') {
      this.badVerb(verb, arg);
      return;
    }
    switch (typeof arg) {
      case 'string':
        this.fmtString(arg, verb, arg);
        return;
      case 'number':
        this.fmtInt(arg, verb, arg);
        return;
      case 'boolean':
        if (verb === 't' || verb === 'v') this.pad(arg ? 'true' : 'false');
        else this.badVerb(verb, arg);
        return;
    }
    if (arg instanceof GoFloat) {
      this.fmtFloatVerb(arg.value, verb, arg);
      return;
    }
    if (!this.handleMethods(arg, verb)) this.printValue(arg, verb, 0);
  }

  printValue(value: unknown, verb: string, depth: number): void {
    if (depth > 0 && value !== undefined && value !== null && this.handleMethods(value, verb)) return;
    switch (kindOf(value)) {
      case 'invalid':
        if (depth === 0) this.buf += '<invalid reflect.Value>';
        else if (verb === 'v') this.buf += '<nil>';
        else this.badVerb(verb, undefined);
        return;
      case 'nil':
        this.buf += this.sharpV ? 'interface {}(nil)' : '<nil>';
        return;
      case 'bool':
        if (verb === 't' || verb === 'v') this.pad(value ? 'true' : 'false');
        else this.badVerb(verb, value);
        return;
      case 'int':
        this.fmtInt(intValue(value), verb, value);
        return;
      case 'float':
        this.fmtFloatVerb((value as GoFloat).value, verb, value);
        return;
      case 'string':
        this.fmtString(value as string, verb, value);
        return;
      case 'map':
        this.printMap(value as object, verb, depth);
        return;
      case 'struct':
        this.printStruct(value as GoStruct, verb, depth);
        return;
      case 'slice':
        this.printSlice(value as unknown[], verb, depth);
        return;
    }
  }

  private printMap(m: object, verb: string, depth: number): void {
    this.buf += this.sharpV ? `${typeName(m)}{` : 'map[';
    let first = true;
    for (const key of sortedKeys(m)) {
      if (!first) this.buf += this.sharpV ? ', ' : ' ';
      first = false;
      this.printValue(key, verb, depth + 1);
      this.buf += ':';
      this.printValue(mapGet(m, key), verb, depth + 1);
    }
    this.buf += this.sharpV ? '}' : ']';
  }

  private printStruct(s: GoStruct, verb: string, depth: number): void {
    const pointer = s.goType.startsWith('*');
    if (pointer) this.buf += '&';
    if (this.sharpV) this.buf += pointer ? s.goType.slice(1) : s.goType;
    this.buf += '{';
    s.fieldNames().forEach((name, i) => {
      if (i > 0) this.buf += this.sharpV ? ', ' : ' ';
      if (this.plusV || this.sharpV) this.buf += `${name}:`;
      this.printValue(s.field(name), verb, depth + 1);
    });
    this.buf += '}';
  }

  private printSlice(items: unknown[], verb: string, depth: number): void {
    if (this.sharpV) {
      this.buf += `${typeName(items)}{`;
      items.forEach((item, i) => {
        if (i > 0) this.buf += ', ';
        this.printValue(item, verb, depth + 1);
      });
      this.buf += '}';
      return;
    }
    this.buf += '[';
    items.forEach((item, i) => {
      if (i > 0) this.buf += ' ';
      this.printValue(item, verb, depth + 1);
    });
    this.buf += ']';
  }
}

/** The # flag on a float: always a decimal point, and %g keeps its trailing zeros. */
function sharpFloat(num: string, verb: string, prec: number): string {
  let digits = verb === 'v' || verb === 'g' || verb === 'G' || verb === 'x' || verb === 'X' ? (prec === -1 ? 6 : prec) : 0;
  let tail = '';
  let body = num;
  let hasDecimalPoint = false;
  let sawNonzeroDigit = false;
  for (let i = 1; i < body.length; i++) {
    const c = body[i]!;
    if (c === '.') hasDecimalPoint = true;
    else if (c === 'p' || c === 'P' || ((c === 'e' || c === 'E') && verb !== 'x' && verb !== 'X')) {
      tail = body.slice(i);
      body = body.slice(0, i);
      break;
    } else {
      if (c !== '0') sawNonzeroDigit = true;
      if (sawNonzeroDigit) digits--;
    }
  }
  if (!hasDecimalPoint) {
    if (body.length === 2 && body[1] === '0') digits--;
    body += '.';
  }
  while (digits-- > 0) body += '0';
  return body + tail;
}
