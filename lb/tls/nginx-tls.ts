import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomic } from '../../src/files.js';
import { parseHostPort } from '../../src/grammar.js';
import type { Model } from '../model.js';
import { selfSignedPem } from './self-signed.js';
import type { CertMaterial, CertVault } from './vault.js';

const SELF_SIGNED = '_self-signed.pem';

/** A host nginx serves over HTTPS: its certificate file (chain and key in one PEM) and what goes with it. */
export interface NginxTlsHost {
  cert: string;
  file: string;
  version: string;
  redirect: boolean;
  /** max-age in seconds, as text ("0" is a value), or null for no HSTS. */
  hsts: string | null;
}

export interface NginxTlsPlan {
  listen: string;
  /** `:PORT` for redirects to https, empty for 443. */
  redirectPort: string;
  defaultFile: string;
  defaultVersion: string;
  hosts: ReadonlyMap<string, NginxTlsHost>;
  /** PEM by file. A Map: JSON.stringify shows nothing of it. */
  pems: ReadonlyMap<string, string>;
}

/**
 * The nginx driver's TLS side. nginx has no runtime API: each certificate is a file (0600 in
 * `<dir>/certs/`, itself 0700) named in the config together with its record version, so a renewed
 * certificate changes the config and is served by the next (paced) reload.
 */
export class NginxTls {
  readonly certsDir: string;
  private selfSigned: Promise<string> | undefined;
  private readonly written = new Map<string, string>();

  constructor(
    dir: string,
    private readonly listen: string,
    private readonly vault: CertVault,
  ) {
    this.certsDir = join(dir, 'certs');
  }

  async plan(model: Model): Promise<NginxTlsPlan> {
    const tls = model.tls;
    const materials = new Map<string, CertMaterial | undefined>();
    const entries = new Map((tls?.certs ?? []).map((c) => [c.name, c]));
    const material = (name: string) => {
      if (!materials.has(name)) {
        const entry = entries.get(name);
        materials.set(name, entry ? this.vault.material(entry) : undefined);
      }
      return materials.get(name);
    };
    const pems = new Map<string, string>();
    const hosts = new Map<string, NginxTlsHost>();
    for (const host of tls?.hosts ?? []) {
      const found = material(host.cert);
      if (!found) continue;
      const file = join(this.certsDir, `${host.cert}.pem`);
      pems.set(file, found.pem);
      hosts.set(host.host, {
        cert: host.cert,
        file,
        version: found.version,
        redirect: host.redirect,
        hsts: host.hstsSeconds === undefined ? null : String(host.hstsSeconds),
      });
    }
    this.vault.retain((tls?.certs ?? []).map((c) => c.name));
    const configured = tls?.defaultCert ? material(tls.defaultCert) : undefined;
    const defaultPem = configured?.pem ?? (await this.selfSignedPem());
    const defaultFile = join(this.certsDir, '_default.pem');
    pems.set(defaultFile, defaultPem);
    const port = parseHostPort(this.listen)?.port;
    return {
      listen: this.listen,
      redirectPort: port === undefined || port === 443 ? '' : `:${port}`,
      defaultFile,
      defaultVersion: createHash('sha256')
        .update(defaultPem.slice(0, defaultPem.indexOf('-----BEGIN PRIVATE KEY')))
        .digest('hex')
        .slice(0, 16),
      hosts,
      pems,
    };
  }

  /** Before `nginx -t`: every file the config names. */
  async writeFiles(plan: NginxTlsPlan): Promise<void> {
    await mkdir(this.certsDir, { recursive: true, mode: 0o700 });
    await chmod(this.certsDir, 0o700);
    for (const [file, pem] of plan.pems) {
      const version = createHash('sha256').update(file).update(pem).digest('hex');
      if (this.written.get(file) === version) continue;
      await writeAtomic(file, pem, 0o600);
      this.written.set(file, version);
    }
  }

  /** Once nginx runs the config of `plan` (and the file on disk is it): the certificates no config names go. */
  async removeStale(plan: NginxTlsPlan): Promise<void> {
    const keep = new Set([...plan.pems.keys(), join(this.certsDir, SELF_SIGNED)]);
    for (const name of await readdir(this.certsDir)) {
      const file = join(this.certsDir, name);
      if (!name.endsWith('.pem') || keep.has(file)) continue;
      await rm(file, { force: true });
      this.written.delete(file);
    }
  }

  /** The certificates a plan serves, by name and version. */
  static served(plan: NginxTlsPlan | undefined): Array<{ name: string; version: string }> {
    const byName = new Map<string, string>();
    for (const host of plan?.hosts.values() ?? []) byName.set(host.cert, host.version);
    return [...byName].sort(([a], [b]) => a.localeCompare(b)).map(([name, version]) => ({ name, version }));
  }

  private async selfSignedPem(): Promise<string> {
    this.selfSigned ??= (async () => {
      await mkdir(this.certsDir, { recursive: true, mode: 0o700 });
      return selfSignedPem(join(this.certsDir, SELF_SIGNED));
    })();
    return this.selfSigned.catch((err) => {
      this.selfSigned = undefined;
      throw err;
    });
  }
}
