/**
 * strconv.FormatFloat(v, fmt, prec, 64): Go's float formatting. Shortest
 * digits come from JS (both pick the shortest string that reads back the
 * same, closest to the value); fixed digits are rounded from the exact
 * binary value, half to even, as Go does (JS's toFixed rounds ties up).
 */

/** Decimal digits `d` (no trailing zeros; "" for zero) with the point after `dp` of them. */
interface Digits {
  d: string;
  dp: number;
}

const view = new DataView(new ArrayBuffer(8));

function bitsOf(v: number): { neg: boolean; exp: number; mant: bigint } {
  view.setFloat64(0, v);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  return { neg: hi >>> 31 === 1, exp: (hi >>> 20) & 0x7ff, mant: (BigInt(hi & 0xfffff) << 32n) | BigInt(lo) };
}

function shortest(v: number): Digits {
  if (v === 0) return { d: '', dp: 0 };
  const [m, e] = Math.abs(v).toExponential().split('e') as [string, string];
  return { d: m.replace('.', '').replace(/0+$/, ''), dp: Number(e) + 1 };
}

/** Every decimal digit of |v|, exactly. */
function exact(v: number): Digits {
  if (v === 0) return { d: '', dp: 0 };
  const { exp, mant } = bitsOf(v);
  const m = exp === 0 ? mant : mant | (1n << 52n);
  const e = (exp === 0 ? 1 : exp) - 1075;
  if (e >= 0) {
    const d = (m << BigInt(e)).toString();
    return trim({ d, dp: d.length });
  }
  const d = (m * 5n ** BigInt(-e)).toString();
  return trim({ d, dp: d.length + e });
}

function trim(x: Digits): Digits {
  const d = x.d.replace(/0+$/, '');
  return d === '' ? { d: '', dp: 0 } : { d, dp: x.dp };
}

/** Go's decimal.Round to `nd` digits: half to even. */
function round(x: Digits, nd: number): Digits {
  if (nd < 0 || nd >= x.d.length) return x;
  const c = x.d.charCodeAt(nd) - 48;
  let up = c > 5 || (c === 5 && nd + 1 < x.d.length);
  if (c === 5 && nd + 1 === x.d.length) up = nd > 0 && (x.d.charCodeAt(nd - 1) - 48) % 2 === 1;
  if (!up) return trim({ d: x.d.slice(0, nd), dp: x.dp });
  let i = nd - 1;
  while (i >= 0 && x.d[i] === '9') i--;
  if (i < 0) return { d: '1', dp: x.dp + 1 };
  return trim({ d: x.d.slice(0, i) + String.fromCharCode(x.d.charCodeAt(i) + 1), dp: x.dp });
}

function fmtE(neg: boolean, x: Digits, prec: number, e: string): string {
  let out = neg ? '-' : '';
  out += x.d.length ? x.d[0] : '0';
  if (prec > 0) out += `.${x.d.slice(1, prec + 1).padEnd(prec, '0')}`;
  let exp = x.d.length === 0 ? 0 : x.dp - 1;
  const sign = exp < 0 ? '-' : '+';
  exp = Math.abs(exp);
  return `${out}${e}${sign}${exp < 10 ? `0${exp}` : exp}`;
}

function fmtF(neg: boolean, x: Digits, prec: number): string {
  let out = neg ? '-' : '';
  out += x.dp > 0 ? x.d.slice(0, x.dp).padEnd(x.dp, '0') : '0';
  if (prec > 0) {
    out += '.';
    for (let i = 0; i < prec; i++) {
      const j = x.dp + i;
      out += j >= 0 && j < x.d.length ? x.d[j] : '0';
    }
  }
  return out;
}

function fmtB(v: number): string {
  const { neg, exp, mant } = bitsOf(v);
  const m = exp === 0 ? mant : mant | (1n << 52n);
  const e = (exp === 0 ? 1 : exp) - 1075;
  return `${neg ? '-' : ''}${m}p${e >= 0 ? '+' : ''}${e}`;
}

/** %x / %X of a float: 0x1.8p+01. */
function fmtX(v: number, prec: number, upper: boolean): string {
  const { neg, exp: rawExp, mant: rawMant } = bitsOf(v);
  let mant = rawExp === 0 ? rawMant : rawMant | (1n << 52n);
  let exp = (rawExp === 0 ? 1 : rawExp) - 1023;
  if (mant === 0n) exp = 0;
  const ONE = 1n << 60n;
  mant <<= 8n;
  while (mant !== 0n && (mant & ONE) === 0n) {
    mant <<= 1n;
    exp--;
  }
  if (prec >= 0 && prec < 15) {
    const shift = BigInt(prec * 4);
    const extra = (mant << shift) & (ONE - 1n);
    mant >>= 60n - shift;
    if ((extra | (mant & 1n)) > 1n << 59n) mant++;
    mant <<= 60n - shift;
    if ((mant & (1n << 61n)) !== 0n) {
      mant >>= 1n;
      exp++;
    }
  }
  const digits = upper ? '0123456789ABCDEF' : '0123456789abcdef';
  let out = `${neg ? '-' : ''}0${upper ? 'X' : 'x'}${(mant >> 60n) & 1n}`;
  mant = (mant << 4n) & ((1n << 64n) - 1n);
  const nibble = () => {
    const d = digits[Number((mant >> 60n) & 15n)]!;
    mant = (mant << 4n) & ((1n << 64n) - 1n);
    return d;
  };
  if (prec < 0 && mant !== 0n) {
    out += '.';
    while (mant !== 0n) out += nibble();
  } else if (prec > 0) {
    out += '.';
    for (let i = 0; i < prec; i++) out += nibble();
  }
  const sign = exp < 0 ? '-' : '+';
  exp = Math.abs(exp);
  return `${out}${upper ? 'P' : 'p'}${sign}${String(exp).padStart(2, '0')}`;
}

export type FloatVerb = 'e' | 'E' | 'f' | 'g' | 'G' | 'b' | 'x' | 'X';

/** strconv.FormatFloat(v, verb, prec, 64); prec < 0 is "shortest". */
export function formatFloat(v: number, verb: FloatVerb, prec: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (verb === 'b') return fmtB(v);
  if (verb === 'x' || verb === 'X') return fmtX(v, prec, verb === 'X');
  const neg = v < 0 || Object.is(v, -0);
  const isShortest = prec < 0;
  let x: Digits;
  if (isShortest) {
    x = shortest(v);
    prec = verb === 'e' || verb === 'E' ? Math.max(x.d.length - 1, 0) : verb === 'f' ? Math.max(x.d.length - x.dp, 0) : x.d.length;
  } else {
    x = exact(v);
    if (verb === 'e' || verb === 'E') x = round(x, prec + 1);
    else if (verb === 'f') x = round(x, x.dp + prec);
    else {
      if (prec === 0) prec = 1;
      x = round(x, prec);
    }
  }
  if (verb === 'e' || verb === 'E') return fmtE(neg, x, prec, verb);
  if (verb === 'f') return fmtF(neg, x, prec);
  // %g: %e for large and small exponents, else %f; trailing zeros dropped.
  let eprec = prec;
  if (eprec > x.d.length && x.d.length >= x.dp) eprec = x.d.length;
  if (isShortest) eprec = 6;
  const exp = x.dp - 1;
  if (exp < -4 || exp >= eprec) {
    if (prec > x.d.length) prec = x.d.length;
    return fmtE(neg, x, prec - 1, verb === 'g' ? 'e' : 'E');
  }
  if (prec > x.dp) prec = x.d.length;
  return fmtF(neg, x, Math.max(prec - x.dp, 0));
}
