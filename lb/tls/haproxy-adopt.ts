import type { TlsDesired } from './haproxy-desired.js';
import type { CrtListLine } from './haproxy-runtime.js';

/** The HTTPS side as HAProxy runs it: the crt-list's entries and the TLS maps. */
export interface RuntimeTls {
  crtList: CrtListLine[];
  hostsMap: Array<[string, string]>;
  redirectMap: Array<[string, string]>;
  hstsMap: Array<[string, string]>;
}

/**
 * Pure: the TLS state an adopted HAProxy runs, read back (its crt-list and TLS maps). Which version
 * of each certificate it holds cannot be read, so versions are unknown (`''`): the first plan sends
 * every certificate again (`set ssl cert`, no reload), and from then on they are known.
 */
export function runningTls(loaded: { bind: string; crtList: string }, runtime: RuntimeTls | undefined): TlsDesired | undefined {
  if (!runtime || runtime.crtList.length === 0) return undefined;
  const byFile = new Map<string, string[]>();
  for (const line of runtime.crtList) if (!byFile.has(line.file)) byFile.set(line.file, [...line.sni].sort());
  const entries = [...byFile].map(([file, sni], i) => ({ file, cert: i === 0 ? '' : certName(file), sni, version: '' }));
  return {
    bind: loaded.bind,
    crtList: loaded.crtList,
    entries,
    hostsMap: runtime.hostsMap,
    redirectMap: runtime.redirectMap,
    hstsMap: runtime.hstsMap,
    pems: new Map(),
  };
}

function certName(file: string): string {
  return (file.split('/').pop() ?? '').replace(/\.pem$/, '');
}
