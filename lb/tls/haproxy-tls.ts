import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FabricError } from '../../src/errors.js';
import { writeAtomic } from '../../src/files.js';
import { parseHostPort } from '../../src/grammar.js';
import type { Model } from '../model.js';
import { type CrtEntry, desiredTls, renderCrtList, type TlsDesired, type TlsFiles, tlsFiles } from './haproxy-desired.js';
import type { TlsMapName } from './haproxy-diff.js';
import { selfSignedPem } from './self-signed.js';
import type { CertMaterial, CertVault } from './vault.js';

/** The self-signed default lives next to the served certificates, and is never cleaned up as stale. */
const SELF_SIGNED = '_self-signed.pem';

/**
 * The HAProxy driver's TLS side: plans the certificates (decrypted by the vault), writes them
 * (PEM with key, 0600, in `<dir>/certs/`, itself 0700) with the crt-list and the TLS maps so a
 * reload loads what runs, and names what it serves. The plan → diff → runtime steps stay the
 * driver's (lb/haproxy/diff.ts, runtime.ts).
 */
export class HaproxyTls {
  readonly files: TlsFiles;
  private selfSigned: Promise<string> | undefined;
  /** file → version written, so unchanged certificates are not read back or rewritten. */
  private readonly written = new Map<string, string>();

  constructor(
    dir: string,
    private readonly bind: string,
    private readonly vault: CertVault,
  ) {
    this.files = tlsFiles(dir);
  }

  /** The model's certificates → HAProxy's TLS desired state. */
  async plan(model: Model): Promise<TlsDesired> {
    const tls = model.tls;
    const materials = new Map<string, CertMaterial>();
    const used = new Set([...(tls?.hosts ?? []).map((h) => h.cert), ...(tls?.defaultCert ? [tls.defaultCert] : [])]);
    for (const cert of tls?.certs ?? []) {
      const material = used.has(cert.name) ? this.vault.material(cert) : undefined;
      if (material) materials.set(cert.name, material);
    }
    this.vault.retain((tls?.certs ?? []).map((c) => c.name));
    const configured = tls?.defaultCert ? materials.get(tls.defaultCert) : undefined;
    return desiredTls(tls, materials, configured ?? (await this.selfSignedMaterial()), this.files, this.bind);
  }

  /** What the template prints for the HTTPS frontend (docs/templates.md). */
  view(desired: TlsDesired) {
    const port = parseHostPort(desired.bind)?.port;
    return {
      bind: desired.bind,
      crtList: desired.crtList,
      maps: { hosts: this.files.hostsMap, redirect: this.files.redirectMap, hsts: this.files.hstsMap },
      /** `:PORT` for redirects to https, empty for 443. */
      redirectPort: port === undefined || port === 443 ? '' : `:${port}`,
    };
  }

  mapFiles(): Record<TlsMapName, string> {
    return { tlsHosts: this.files.hostsMap, tlsRedirect: this.files.redirectMap, tlsHsts: this.files.hstsMap };
  }

  /** Certificates first (the crt-list names them), then the list and the maps; stale certificates go last. */
  async writeFiles(desired: TlsDesired, renderMap: (entries: Array<[string, string]>) => string): Promise<void> {
    await mkdir(this.files.certsDir, { recursive: true, mode: 0o700 });
    await chmod(this.files.certsDir, 0o700);
    for (const entry of desired.entries) await this.writeCert(entry, desired.pems);
    await writeAtomic(this.files.crtList, renderCrtList(desired), 0o600);
    await writeAtomic(this.files.hostsMap, renderMap(desired.hostsMap));
    await writeAtomic(this.files.redirectMap, renderMap(desired.redirectMap));
    await writeAtomic(this.files.hstsMap, renderMap(desired.hstsMap));
    await this.removeStale(desired.entries);
  }

  /** Names (and versions) of the certificates HAProxy serves per `desired`: for status and `fabric get certs`. */
  static served(desired: TlsDesired | undefined): Array<{ name: string; version: string }> {
    return (desired?.entries ?? []).filter((e) => e.cert !== '').map((e) => ({ name: e.cert, version: e.version }));
  }

  private async writeCert(entry: CrtEntry, pems: ReadonlyMap<string, string>): Promise<void> {
    if (this.written.get(entry.file) === entry.version && entry.version !== '') return;
    const pem = pems.get(entry.file);
    if (pem === undefined) throw new FabricError('FABRIC_ERR_TLS', `no certificate material for ${entry.file}`);
    await writeAtomic(entry.file, pem, 0o600);
    this.written.set(entry.file, entry.version);
  }

  private async removeStale(entries: CrtEntry[]): Promise<void> {
    const keep = new Set([...entries.map((e) => e.file), join(this.files.certsDir, SELF_SIGNED)]);
    for (const name of await readdir(this.files.certsDir)) {
      const file = join(this.files.certsDir, name);
      if (!name.endsWith('.pem') || keep.has(file)) continue;
      await rm(file, { force: true });
      this.written.delete(file);
    }
  }

  private async selfSignedMaterial(): Promise<Pick<CertMaterial, 'pem' | 'version'>> {
    this.selfSigned ??= (async () => {
      await mkdir(this.files.certsDir, { recursive: true, mode: 0o700 });
      return selfSignedPem(join(this.files.certsDir, SELF_SIGNED));
    })();
    // A failed attempt is tried again at the next plan.
    const pem = await this.selfSigned.catch((err) => {
      this.selfSigned = undefined;
      throw err;
    });
    // The version hashes the certificate, not the key.
    const certificate = pem.slice(0, pem.indexOf('-----BEGIN PRIVATE KEY'));
    return { pem, version: createHash('sha256').update(certificate).digest('hex').slice(0, 16) };
  }
}
