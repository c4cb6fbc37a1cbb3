import { type GoMethod, GoNamedInt, GoStruct, type HasMethods } from './values.js';

/**
 * Go's time.Time, what confd's `datetime` returns (`{{datetime}}`,
 * `{{datetime.Format "2006-01-02"}}`, `{{datetime.Unix}}`): an instant, the
 * zone it is shown in, and, for "now", the monotonic reading Go prints as
 * ` m=+0.001234567`.
 */

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export interface Zone {
  name: string;
  /** Seconds east of UTC. */
  offset: number;
}

export class GoTime extends GoStruct implements HasMethods {
  readonly goType = 'time.Time';

  constructor(
    /** Milliseconds since the epoch (UTC). */
    readonly epochMs: number,
    /** Nanoseconds within the second. */
    readonly nanos: number,
    readonly zone: Zone,
    /** Nanoseconds on the monotonic clock, when the time came from "now". */
    readonly monotonic?: number,
  ) {
    super();
  }

  /** A JS Date in a zone (the machine's own when none is given). */
  static fromDate(date: Date, zone?: Zone, monotonic?: number): GoTime {
    const ms = date.getTime();
    const nanos = (((ms % 1000) + 1000) % 1000) * 1e6;
    return new GoTime(ms, nanos, zone ?? localZone(date), monotonic);
  }

  fieldNames(): readonly string[] {
    return ['wall', 'ext', 'loc'];
  }

  field(): unknown {
    return undefined;
  }

  override stringer(): string {
    let s = this.format('2006-01-02 15:04:05.999999999 -0700 MST');
    if (this.monotonic !== undefined) {
      const m = Math.abs(this.monotonic);
      s += ` m=${this.monotonic < 0 ? '-' : '+'}${Math.floor(m / 1e9)}.${String(Math.round(m % 1e9)).padStart(9, '0')}`;
    }
    return s;
  }

  /** Calendar fields in the time's zone. */
  private fields(): { year: number; month: number; day: number; yday: number; hour: number; min: number; sec: number; wday: number } {
    const d = new Date(this.epochMs + this.zone.offset * 1000);
    const start = Date.UTC(d.getUTCFullYear(), 0, 1);
    const yday = Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - start) / 86_400_000) + 1;
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      yday,
      hour: d.getUTCHours(),
      min: d.getUTCMinutes(),
      sec: d.getUTCSeconds(),
      wday: d.getUTCDay(),
    };
  }

  unix(): number {
    return Math.floor(this.epochMs / 1000);
  }

  method(name: string): GoMethod | undefined {
    const f = () => this.fields();
    const methods: Record<string, GoMethod> = {
      Format: { params: ['string'], call: ([layout]) => this.format(layout as string) },
      String: { params: [], call: () => this.stringer() },
      Unix: { params: [], call: () => this.unix() },
      UnixMilli: { params: [], call: () => Math.floor(this.epochMs) },
      UnixNano: { params: [], call: () => this.unix() * 1e9 + this.nanos },
      Year: { params: [], call: () => f().year },
      Month: { params: [], call: () => new GoNamedInt('time.Month', f().month, MONTHS[f().month - 1]!) },
      Day: { params: [], call: () => f().day },
      YearDay: { params: [], call: () => f().yday },
      Weekday: { params: [], call: () => new GoNamedInt('time.Weekday', f().wday, DAYS[f().wday]!) },
      Hour: { params: [], call: () => f().hour },
      Minute: { params: [], call: () => f().min },
      Second: { params: [], call: () => f().sec },
      Nanosecond: { params: [], call: () => this.nanos },
      UTC: { params: [], call: () => new GoTime(this.epochMs, this.nanos, { name: 'UTC', offset: 0 }) },
      Local: { params: [], call: () => GoTime.fromDate(new Date(this.epochMs)) },
      IsZero: { params: [], call: () => false },
    };
    return methods[name];
  }

  /** time.Time.Format with Go's reference layout (Mon Jan 2 15:04:05 MST 2006). */
  format(layout: string): string {
    const t = this.fields();
    let out = '';
    let rest = layout;
    while (rest !== '') {
      const [prefix, std, suffix] = nextStdChunk(rest);
      out += prefix;
      if (std === '') break;
      rest = suffix;
      out += this.element(std, t);
    }
    return out;
  }

  private element(std: string, t: ReturnType<GoTime['fields']>): string {
    const pad = (n: number, w: number) => (n < 0 ? `-${String(-n).padStart(w, '0')}` : String(n).padStart(w, '0'));
    const h12 = t.hour % 12 || 12;
    switch (std) {
      case '2006':
        return pad(t.year, 4);
      case '06':
        return pad(Math.abs(t.year) % 100, 2);
      case 'January':
        return MONTHS[t.month - 1]!;
      case 'Jan':
        return MONTHS[t.month - 1]!.slice(0, 3);
      case '1':
        return String(t.month);
      case '01':
        return pad(t.month, 2);
      case 'Monday':
        return DAYS[t.wday]!;
      case 'Mon':
        return DAYS[t.wday]!.slice(0, 3);
      case '2':
        return String(t.day);
      case '_2':
        return String(t.day).padStart(2, ' ');
      case '02':
        return pad(t.day, 2);
      case '__2':
        return String(t.yday).padStart(3, ' ');
      case '002':
        return pad(t.yday, 3);
      case '15':
        return pad(t.hour, 2);
      case '3':
        return String(h12);
      case '03':
        return pad(h12, 2);
      case '4':
        return String(t.min);
      case '04':
        return pad(t.min, 2);
      case '5':
        return String(t.sec);
      case '05':
        return pad(t.sec, 2);
      case 'PM':
        return t.hour >= 12 ? 'PM' : 'AM';
      case 'pm':
        return t.hour >= 12 ? 'pm' : 'am';
      case 'MST':
        return this.zone.name || this.numericZone('-0700');
    }
    if (std[0] === '.' || std[0] === ',') return fraction(this.nanos, std);
    return this.numericZone(std);
  }

  /** -0700, -07:00, -07, -070000, -07:00:00 and their Z (UTC is "Z") forms. */
  private numericZone(std: string): string {
    const offset = this.zone.offset;
    if (std[0] === 'Z' && offset === 0) return 'Z';
    const abs = Math.abs(offset);
    const hh = String(Math.floor(abs / 3600)).padStart(2, '0');
    const mm = String(Math.floor(abs / 60) % 60).padStart(2, '0');
    const ss = String(abs % 60).padStart(2, '0');
    const colon = std.includes(':');
    const body = std.slice(1);
    let out = (offset < 0 ? '-' : '+') + hh;
    if (body !== '07') out += (colon ? ':' : '') + mm;
    if (body === '070000' || body === '07:00:00') out += (colon ? ':' : '') + ss;
    return out;
  }
}

/** .000 (fixed) or .999 (trailing zeros dropped) fractional seconds. */
function fraction(nanos: number, std: string): string {
  const digits = String(Math.floor(nanos)).padStart(9, '0');
  let n = Math.min(std.length - 1, 9);
  if (std[1] === '9') {
    while (n > 0 && digits[n - 1] === '0') n--;
    if (n === 0) return '';
  }
  return std[0] + digits.slice(0, n);
}

const ZONES = ['-070000', '-07:00:00', '-0700', '-07:00', '-07', 'Z070000', 'Z07:00:00', 'Z0700', 'Z07:00', 'Z07'];

/** Go's nextStdChunk: the text before the next layout element, the element, and what follows. */
function nextStdChunk(layout: string): [string, string, string] {
  for (let i = 0; i < layout.length; i++) {
    const rest = layout.slice(i);
    const found = (std: string, skip = std.length): [string, string, string] => [layout.slice(0, i), std, layout.slice(i + skip)];
    const lowerAfter = (n: number) => /^[a-z]/.test(layout.slice(i + n));
    switch (layout[i]) {
      case 'J':
        if (rest.startsWith('January')) return found('January');
        if (rest.startsWith('Jan') && !lowerAfter(3)) return found('Jan');
        break;
      case 'M':
        if (rest.startsWith('Monday')) return found('Monday');
        if (rest.startsWith('Mon') && !lowerAfter(3)) return found('Mon');
        if (rest.startsWith('MST')) return found('MST');
        break;
      case '0':
        if (/^0[1-6]/.test(rest)) return found(rest.slice(0, 2));
        if (rest.startsWith('002')) return found('002');
        break;
      case '1':
        return rest.startsWith('15') ? found('15') : found('1');
      case '2':
        return rest.startsWith('2006') ? found('2006') : found('2');
      case '_':
        if (rest.startsWith('_2')) {
          if (rest.startsWith('_2006')) return [layout.slice(0, i + 1), '2006', layout.slice(i + 5)];
          return found('_2');
        }
        if (rest.startsWith('__2')) return found('__2');
        break;
      case '3':
      case '4':
      case '5':
        return found(layout[i]!);
      case 'P':
        if (rest.startsWith('PM')) return found('PM');
        break;
      case 'p':
        if (rest.startsWith('pm')) return found('pm');
        break;
      case '-':
      case 'Z': {
        const zone = ZONES.find((z) => rest.startsWith(z));
        if (zone) return found(zone);
        break;
      }
      case '.':
      case ',': {
        const m = /^[.,](0+|9+)/.exec(rest);
        if (m && !/^\d/.test(rest.slice(m[0].length))) return found(m[0]);
        break;
      }
    }
  }
  return [layout, '', ''];
}

/** The machine's zone at `date`: its offset, and its abbreviation as the C library would print it. */
export function localZone(date: Date): Zone {
  const offset = -date.getTimezoneOffset() * 60;
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(date).find((p) => p.type === 'timeZoneName');
  let name = part?.value ?? '';
  // Intl says "GMT+2" where there is no abbreviation; Go says "+02".
  if (/^GMT[+-]/.test(name)) name = formatOffsetName(offset);
  if (name === 'GMT' && offset === 0 && process.env.TZ !== 'GMT') name = 'UTC';
  return { name, offset };
}

function formatOffsetName(offset: number): string {
  const abs = Math.abs(offset);
  const hh = String(Math.floor(abs / 3600)).padStart(2, '0');
  const mm = Math.floor(abs / 60) % 60;
  return `${offset < 0 ? '-' : '+'}${hh}${mm ? String(mm).padStart(2, '0') : ''}`;
}
