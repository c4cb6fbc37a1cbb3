import type { CrtEntry, TlsDesired } from './haproxy-desired.js';

/**
 * One Runtime API change of HAProxy's certificates. `pem` (chain and key) travels with the op to
 * the admin socket and nowhere else: ops are counted, never logged.
 */
export type TlsOp =
  /** new ssl cert → set ssl cert → commit ssl cert → add ssl crt-list. */
  | { kind: 'cert-new'; list: string; file: string; sni: string[]; pem: string }
  /** set ssl cert → commit ssl cert: a renewal, in place (the crt-list entry follows the store). */
  | { kind: 'cert-set'; file: string; pem: string }
  /** The hosts a certificate serves changed: the new crt-list entry first, then the old one goes. */
  | { kind: 'cert-sni'; list: string; file: string; sni: string[] }
  /** del ssl crt-list → del ssl cert. */
  | { kind: 'cert-del'; list: string; file: string };

export type TlsMapName = 'tlsHosts' | 'tlsRedirect' | 'tlsHsts';

/** A reason to reload (the HTTPS bind itself changed), or none. */
export function tlsStructuralChange(applied: TlsDesired | undefined, next: TlsDesired | undefined): string | undefined {
  if (!applied && !next) return undefined;
  if (!applied) return 'HTTPS frontend added';
  if (!next) return 'HTTPS frontend removed';
  if (applied.bind !== next.bind) return `HTTPS frontend ${applied.bind} → ${next.bind}`;
  if (applied.crtList !== next.crtList) return 'crt-list moved';
  if (applied.entries[0]?.file !== next.entries[0]?.file) return 'default certificate moved';
  return undefined;
}

/** Pure: the certificate ops from `applied` to `next` (same bind), adds and updates before deletes. */
export function tlsOps(applied: TlsDesired, next: TlsDesired): TlsOp[] {
  const before = new Map(applied.entries.map((e) => [e.file, e]));
  const after = new Map(next.entries.map((e) => [e.file, e]));
  const ops: TlsOp[] = [];
  for (const entry of next.entries) {
    const old = before.get(entry.file);
    const pem = next.pems.get(entry.file)!;
    if (!old) {
      ops.push({ kind: 'cert-new', list: next.crtList, file: entry.file, sni: entry.sni, pem });
      continue;
    }
    if (old.version !== entry.version) ops.push({ kind: 'cert-set', file: entry.file, pem });
    if (!sameSni(old, entry)) ops.push({ kind: 'cert-sni', list: next.crtList, file: entry.file, sni: entry.sni });
  }
  for (const entry of applied.entries) if (!after.has(entry.file)) ops.push({ kind: 'cert-del', list: next.crtList, file: entry.file });
  return ops;
}

function sameSni(a: CrtEntry, b: CrtEntry): boolean {
  return a.sni.length === b.sni.length && a.sni.every((s, i) => s === b.sni[i]);
}

/** The TLS maps that changed, with their new entries. */
export function tlsMapChanges(applied: TlsDesired, next: TlsDesired): Array<{ map: TlsMapName; entries: Array<[string, string]> }> {
  const changes: Array<{ map: TlsMapName; entries: Array<[string, string]> }> = [];
  const pairs: Array<[TlsMapName, Array<[string, string]>, Array<[string, string]>]> = [
    ['tlsHosts', applied.hostsMap, next.hostsMap],
    ['tlsRedirect', applied.redirectMap, next.redirectMap],
    ['tlsHsts', applied.hstsMap, next.hstsMap],
  ];
  for (const [map, a, b] of pairs) {
    if (a.length !== b.length || a.some(([k, v], i) => b[i]![0] !== k || b[i]![1] !== v)) changes.push({ map, entries: b });
  }
  return changes;
}
