import { createHash } from 'node:crypto';
import { SERVICE_NAME } from '../../src/grammar.js';

/**
 * A name from another tool (a host name, an image, a Traefik router) → a fabric service name:
 * lower case, anything but a-z 0-9 becomes "-", at most 63 characters (a long name keeps a
 * short hash of the whole, so two long names do not collide). Undefined when nothing is left.
 */
export function serviceNameFrom(text: string): string | undefined {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!cleaned) return undefined;
  if (cleaned.length <= 63) return cleaned;
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 8);
  const name = `${cleaned.slice(0, 54).replace(/-+$/, '')}-${hash}`;
  return SERVICE_NAME.test(name) ? name : undefined;
}

/** `KEY=value` lines of Docker's `Config.Env` → a map (a later line wins, as in a shell). */
export function envMap(lines: readonly string[] | null | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of lines ?? []) {
    const at = line.indexOf('=');
    if (at > 0) env[line.slice(0, at)] = line.slice(at + 1);
  }
  return env;
}

/** A comma list, trimmed, empties dropped. */
export function commaList(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}
