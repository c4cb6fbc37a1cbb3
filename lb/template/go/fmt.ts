import { Printer } from './printer.js';
import { GoNamedInt, intValue, typeName } from './values.js';

/**
 * Go's fmt (Sprint, Sprintf, Sprintln) over the engine's values: verbs,
 * flags, width, precision, argument indexes, and the %!verb(type=value)
 * complaints, as fmt/print.go defines them.
 */

/** fmt.Sprint: operands separated by a space when neither side is a string. */
export function sprint(args: unknown[]): string {
  const p = new Printer();
  let prevString = false;
  args.forEach((arg, i) => {
    const isString = typeof arg === 'string';
    if (i > 0 && !isString && !prevString) p.buf += ' ';
    p.printArg(arg, 'v');
    prevString = isString;
  });
  return p.buf;
}

/** fmt.Sprintln: always spaces, and a newline. */
export function sprintln(args: unknown[]): string {
  const p = new Printer();
  args.forEach((arg, i) => {
    if (i > 0) p.buf += ' ';
    p.printArg(arg, 'v');
  });
  return `${p.buf}\n`;
}

/** One value as `{{.}}` prints it (fmt.Fprint of a single operand). */
export function printOne(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value === 0 ? 0 : value);
  const p = new Printer();
  p.printArg(value, 'v');
  return p.buf;
}

function tooLarge(n: number): boolean {
  return n > 1e6 || n < -1e6;
}

/** fmt's parsenum: digits at s[i:] → [value, found, next index]. */
function parseNum(s: string, i: number): [number, boolean, number] {
  let n = 0;
  let found = false;
  for (; i < s.length && s[i]! >= '0' && s[i]! <= '9'; i++) {
    if (tooLarge(n)) return [0, false, s.length];
    n = n * 10 + (s.charCodeAt(i) - 48);
    found = true;
  }
  return [n, found, i];
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: unknown[]): string {
  return new Formatter(format, args).run();
}

class Formatter {
  private readonly p = new Printer();
  private argNum = 0;
  private reordered = false;
  private goodArgNum = true;

  constructor(
    private readonly format: string,
    private readonly args: unknown[],
  ) {}

  /** `[n]` at i: the argument index it names (fmt's argNumber and parseArgNumber). */
  private argNumber(i: number): { i: number; found: boolean } {
    const f = this.format;
    if (f.length <= i || f[i] !== '[') return { i, found: false };
    this.reordered = true;
    const close = f.length - i < 3 ? -1 : f.indexOf(']', i + 1);
    if (close < 0) {
      this.goodArgNum = false;
      return { i: i + 1, found: false };
    }
    const [n, ok, next] = parseNum(f, i + 1);
    if (!ok || next !== close) {
      this.goodArgNum = false;
      return { i: close + 1, found: false };
    }
    if (n - 1 >= 0 && n - 1 < this.args.length) {
      this.argNum = n - 1;
      return { i: close + 1, found: true };
    }
    this.goodArgNum = false;
    return { i: close + 1, found: true };
  }

  /** An int argument for `*` (width or precision). */
  private intArg(): [number, boolean] {
    if (this.argNum >= this.args.length) return [0, false];
    const a = this.args[this.argNum++];
    const isInt = typeof a === 'number' || a instanceof GoNamedInt;
    const n = isInt ? intValue(a) : 0;
    return tooLarge(n) ? [0, false] : [n, isInt];
  }

  run(): string {
    const { p, format: f } = this;
    const end = f.length;
    let afterIndex = false;
    for (let i = 0; i < end; ) {
      this.goodArgNum = true;
      const percent = f.indexOf('%', i);
      const stop = percent < 0 ? end : percent;
      if (stop > i) p.buf += f.slice(i, stop);
      if (stop >= end) break;
      i = stop + 1;
      p.clearFlags();
      let simple = false;
      flags: for (; i < end; i++) {
        const c = f[i]!;
        switch (c) {
          case '#':
            p.sharp = true;
            break;
          case '0':
            p.zero = !p.minus;
            break;
          case '+':
            p.plus = true;
            break;
          case '-':
            p.minus = true;
            p.zero = false;
            break;
          case ' ':
            p.space = true;
            break;
          default:
            if (c >= 'a' && c <= 'z' && this.argNum < this.args.length) {
              if (c === 'v') this.verbV();
              p.printArg(this.args[this.argNum++], c);
              i++;
              simple = true;
            }
            break flags;
        }
      }
      if (simple) continue;
      ({ i, found: afterIndex } = this.argNumber(i));
      if (i < end && f[i] === '*') {
        i++;
        [p.wid, p.widPresent] = this.intArg();
        if (!p.widPresent) p.buf += '%!(BADWIDTH)';
        if (p.wid < 0) {
          p.wid = -p.wid;
          p.minus = true;
          p.zero = false;
        }
        afterIndex = false;
      } else {
        [p.wid, p.widPresent, i] = parseNum(f, i);
        if (afterIndex && p.widPresent) this.goodArgNum = false;
      }
      if (i + 1 < end && f[i] === '.') {
        i++;
        if (afterIndex) this.goodArgNum = false;
        ({ i, found: afterIndex } = this.argNumber(i));
        if (i < end && f[i] === '*') {
          i++;
          [p.prec, p.precPresent] = this.intArg();
          if (p.prec < 0) {
            p.prec = 0;
            p.precPresent = false;
          }
          if (!p.precPresent) p.buf += '%!(BADPREC)';
          afterIndex = false;
        } else {
          [p.prec, p.precPresent, i] = parseNum(f, i);
          if (!p.precPresent) {
            p.prec = 0;
            p.precPresent = true;
          }
        }
      }
      if (!afterIndex) ({ i, found: afterIndex } = this.argNumber(i));
      if (i >= end) {
        p.buf += '%!(NOVERB)';
        break;
      }
      const verb = String.fromCodePoint(f.codePointAt(i)!);
      i += verb.length;
      if (verb === '%') p.buf += '%';
      else if (!this.goodArgNum) p.buf += `%!${verb}(BADINDEX)`;
      else if (this.argNum >= this.args.length) p.buf += `%!${verb}(MISSING)`;
      else {
        if (verb === 'v') this.verbV();
        p.printArg(this.args[this.argNum++], verb);
      }
    }
    if (!this.reordered && this.argNum < this.args.length) {
      p.clearFlags();
      p.buf += '%!(EXTRA ';
      this.args.slice(this.argNum).forEach((arg, i) => {
        if (i > 0) p.buf += ', ';
        if (arg === undefined || arg === null) p.buf += '<nil>';
        else {
          p.buf += `${typeName(arg)}=`;
          p.printArg(arg, 'v');
        }
      });
      p.buf += ')';
    }
    return p.buf;
  }

  /** %v turns # into "Go syntax" and + into "field names". */
  private verbV(): void {
    const p = this.p;
    p.sharpV = p.sharp;
    p.sharp = false;
    p.plusV = p.plus;
    p.plus = false;
  }
}
