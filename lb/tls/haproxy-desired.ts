import { join } from 'node:path';
import type { TlsModel } from './model.js';
import type { CertMaterial } from './vault.js';

/**
 * HAProxy's TLS state, as the driver plans, diffs and applies it (lb/haproxy/desired.ts, diff.ts,
 * runtime.ts). The HTTPS bind reads a crt-list, so certificates come and go at run time:
 *
 *   <certs>/_default.pem fabric-default.invalid     ← line 1: the default certificate (a name nothing asks for)
 *   <certs>/<name>.pem www.example.com api.example.com   ← each served certificate, for the hosts it serves only
 *
 * The SNI filters are the hosts the model gives the certificate, so a certificate is never
 * presented for a name its owner does not hold, whatever else its SAN lists.
 */
export interface CrtEntry {
  /** The PEM file (chain and key), in the target's certs directory. */
  file: string;
  /** The certificate's name; `''` for the default. */
  cert: string;
  /** SNI filters, sorted. */
  sni: string[];
  /** CertMaterial.version: a renewal changes it. `''` when not known (read back from a running HAProxy). */
  version: string;
}

export interface TlsDesired {
  bind: string;
  crtList: string;
  /** The default certificate first, then one per served certificate by name. */
  entries: CrtEntry[];
  /** host → certificate: the hosts the HTTPS frontend routes (others get 404). */
  hostsMap: Array<[string, string]>;
  /** host → 1: plain HTTP for it is redirected to https. */
  redirectMap: Array<[string, string]>;
  /** host → max-age seconds. */
  hstsMap: Array<[string, string]>;
  /** Each entry's PEM, by file. A Map: JSON.stringify shows nothing of it. */
  pems: ReadonlyMap<string, string>;
}

export interface TlsFiles {
  certsDir: string;
  crtList: string;
  hostsMap: string;
  redirectMap: string;
  hstsMap: string;
}

export function tlsFiles(dir: string): TlsFiles {
  const certsDir = join(dir, 'certs');
  return {
    certsDir,
    crtList: join(certsDir, 'crt-list.txt'),
    hostsMap: join(dir, 'tls-hosts.map'),
    redirectMap: join(dir, 'tls-redirect.map'),
    hstsMap: join(dir, 'tls-hsts.map'),
  };
}

/** A name no client asks for: the default entry's filter, so only its place (line 1) makes it the default. */
export const DEFAULT_SNI = 'fabric-default.invalid';

export function certFile(files: TlsFiles, cert: string): string {
  return join(files.certsDir, `${cert}.pem`);
}

/**
 * Pure: the TLS model and the certificates' materials → what HAProxy should serve. A certificate
 * without material (its key does not decrypt) is left out; its hosts fall to the default.
 */
export function desiredTls(
  tls: TlsModel | undefined,
  materials: ReadonlyMap<string, CertMaterial>,
  defaultMaterial: Pick<CertMaterial, 'pem' | 'version'>,
  files: TlsFiles,
  bind: string,
): TlsDesired {
  const defaultFile = join(files.certsDir, '_default.pem');
  const pems = new Map<string, string>([[defaultFile, defaultMaterial.pem]]);
  const entries: CrtEntry[] = [{ file: defaultFile, cert: '', sni: [DEFAULT_SNI], version: defaultMaterial.version }];
  const hostsOf = new Map<string, string[]>();
  const hostsMap: Array<[string, string]> = [];
  const redirectMap: Array<[string, string]> = [];
  const hstsMap: Array<[string, string]> = [];
  for (const host of tls?.hosts ?? []) {
    if (!materials.has(host.cert)) continue;
    hostsOf.set(host.cert, [...(hostsOf.get(host.cert) ?? []), host.host]);
    hostsMap.push([host.host, host.cert]);
    if (host.redirect) redirectMap.push([host.host, '1']);
    if (host.hstsSeconds !== undefined) hstsMap.push([host.host, String(host.hstsSeconds)]);
  }
  for (const cert of [...hostsOf.keys()].sort()) {
    const material = materials.get(cert)!;
    const file = certFile(files, cert);
    pems.set(file, material.pem);
    entries.push({ file, cert, sni: [...hostsOf.get(cert)!].sort(), version: material.version });
  }
  return { bind, crtList: files.crtList, entries, hostsMap, redirectMap, hstsMap, pems };
}

/** The crt-list file: one line per entry, the default first. */
export function renderCrtList(desired: Pick<TlsDesired, 'entries'>): string {
  return desired.entries.map((e) => `${[e.file, ...e.sni].join(' ')}\n`).join('');
}
