import { spawnSync } from 'node:child_process';
import { isIP } from 'node:net';
import { FabricError } from '../../src/errors.js';
import { type HelperDef, helper, renderError, str } from './define.js';

/** What the environment-reading helpers read, passed in so tests (and callers) choose. */
export interface SystemSources {
  env: NodeJS.ProcessEnv;
  now: () => Date;
  /** Addresses of a host name, sorted; [] when it does not resolve. */
  resolve: (name: string) => string[];
}

export function systemHelpers(sources: SystemSources): HelperDef[] {
  return [
    helper('getenv', 1, 2, ([name, fallback]) => {
      const value = sources.env[str('getenv', name)];
      return value ? value : fallback === undefined ? '' : str('getenv', fallback);
    }),
    helper('datetime', 0, 1, ([layout]) => {
      const now = sources.now();
      return layout === undefined ? now.toISOString() : formatGoLayout(now, str('datetime', layout));
    }),
    helper('lookupIP', 1, 1, ([name]) => {
      const host = str('lookupIP', name);
      if (isIP(host)) return [host];
      if (!/^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?$/.test(host)) throw renderError('lookupIP', `${JSON.stringify(host)} is not a host name`);
      return sources.resolve(host);
    }),
  ];
}

const LOOKUP_TIMEOUT_MS = 2_000;

/**
 * `lookupIP` for real: Handlebars renders synchronously and Node's resolver is
 * asynchronous, so fabric asks the C library through `getent ahosts` (NSS:
 * /etc/hosts, then DNS, as any program on the host would), synchronously and
 * bounded by a timeout. A name that does not resolve gives [] (confd's nil); a
 * resolver that does not answer in time is a retryable error, never a guess.
 */
export function resolveWithGetent(name: string): string[] {
  const result = spawnSync('getent', ['ahosts', name], { encoding: 'utf8', timeout: LOOKUP_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    if (code === 'ETIMEDOUT') throw new FabricError('FABRIC_ERR_COMMAND_TIMEOUT', `lookupIP: resolving ${name} took longer than ${LOOKUP_TIMEOUT_MS} ms`);
    throw renderError('lookupIP', `cannot run getent to resolve ${name}: ${result.error.message}`);
  }
  if (result.status === 2) return []; // "key not found"
  if (result.status !== 0) throw renderError('lookupIP', `getent ahosts ${name} exited ${result.status ?? result.signal}: ${result.stderr.trim()}`);
  const addresses = new Set(
    result.stdout
      .split('\n')
      .map((line) => line.split(/\s+/)[0] ?? '')
      .filter((a) => isIP(a)),
  );
  return [...addresses].sort();
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/**
 * Go's reference-time layouts ("2006-01-02 15:04:05"), the common elements:
 * what `{{datetime.Format "…"}}` ports to (`{{datetime "…"}}`). Local time.
 */
export function formatGoLayout(d: Date, layout: string): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const oh = pad(Math.floor(Math.abs(offset) / 60));
  const om = pad(Math.abs(offset) % 60);
  const h12 = d.getHours() % 12 || 12;
  const tokens: Array<[string, () => string]> = [
    ['January', () => MONTHS[d.getMonth()]!],
    ['Monday', () => DAYS[d.getDay()]!],
    ['2006', () => pad(d.getFullYear(), 4)],
    ['Z07:00', () => (offset === 0 ? 'Z' : `${sign}${oh}:${om}`)],
    ['-07:00', () => `${sign}${oh}:${om}`],
    ['-0700', () => `${sign}${oh}${om}`],
    ['.000', () => `.${pad(d.getMilliseconds(), 3)}`],
    ['Jan', () => MONTHS[d.getMonth()]!.slice(0, 3)],
    ['Mon', () => DAYS[d.getDay()]!.slice(0, 3)],
    ['MST', () => timeZoneName(d)],
    ['_2', () => String(d.getDate()).padStart(2, ' ')],
    ['01', () => pad(d.getMonth() + 1)],
    ['02', () => pad(d.getDate())],
    ['03', () => pad(h12)],
    ['04', () => pad(d.getMinutes())],
    ['05', () => pad(d.getSeconds())],
    ['06', () => pad(d.getFullYear() % 100)],
    ['15', () => pad(d.getHours())],
    ['PM', () => (d.getHours() < 12 ? 'AM' : 'PM')],
    ['pm', () => (d.getHours() < 12 ? 'am' : 'pm')],
    ['1', () => String(d.getMonth() + 1)],
    ['2', () => String(d.getDate())],
    ['3', () => String(h12)],
    ['4', () => String(d.getMinutes())],
    ['5', () => String(d.getSeconds())],
  ];
  let out = '';
  outer: for (let i = 0; i < layout.length; ) {
    for (const [token, value] of tokens) {
      if (layout.startsWith(token, i)) {
        out += value();
        i += token.length;
        continue outer;
      }
    }
    out += layout[i++];
  }
  return out;
}

function timeZoneName(d: Date): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName');
  return part?.value ?? 'UTC';
}
