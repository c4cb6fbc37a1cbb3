import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describeError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { decryptKey, recordVersion } from '../../src/tls/cert-record.js';
import type { Keyring } from '../../src/tls/keyring.js';
import type { CertEntry } from './model.js';

/** A certificate ready to deploy: chain and decrypted key in one PEM. Held in memory, written only to a target's own certs dir (0600). */
export interface CertMaterial {
  name: string;
  /** Chain, then the private key, PEM. Never logged, never in an API answer. */
  pem: string;
  /** Changes whenever the stored record does (a hash of etcd's value, not of the key). */
  version: string;
}

/**
 * The router's one place where private keys are decrypted (with `tls.keyFile`), once per stored
 * value: every target asks it for the certificates the model serves. A record that does not
 * decrypt (no key file, another key, a changed value) or whose key does not match its chain is not
 * served; why is kept per certificate for `/v1/certs` and `/v1/status`, and logged once.
 */
export class CertVault {
  private readonly cache = new Map<string, { raw: string; material?: CertMaterial; error?: string }>();

  constructor(
    private readonly keyring: Keyring | undefined,
    private readonly logger: Logger,
    /** Why there is no keyring (the key file could not be read), when there is none. */
    private readonly keyringError?: string,
  ) {}

  /** The certificate's material, or undefined when it cannot be used (see `error`). */
  material(entry: CertEntry): CertMaterial | undefined {
    const cached = this.cache.get(entry.name);
    if (cached?.raw === entry.raw) return cached.material;
    const result = this.open(entry);
    this.cache.set(entry.name, { raw: entry.raw, ...result });
    if (result.error) this.logger.error({ cert: entry.name, err: result.error }, 'certificate not served');
    return result.material;
  }

  /** Why a certificate is not served, if it is not (after `material` was asked for it). */
  error(name: string): string | undefined {
    return this.cache.get(name)?.error;
  }

  /** Forgets certificates no longer stored (their keys leave memory). */
  retain(names: Iterable<string>): void {
    const keep = new Set(names);
    for (const name of this.cache.keys()) if (!keep.has(name)) this.cache.delete(name);
  }

  private open(entry: CertEntry): { material?: CertMaterial; error?: string } {
    if (!this.keyring) return { error: `cannot decrypt its private key: ${this.keyringError ?? 'the router has no tls.keyFile'}` };
    try {
      const keyPem = decryptKey(entry.record.key, this.keyring);
      const leaf = new X509Certificate(entry.record.chain);
      if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) return { error: 'its private key does not match its certificate' };
      const version = recordVersion(entry.raw);
      return { material: { name: entry.name, pem: `${entry.record.chain.trim()}\n${keyPem.trim()}\n`, version } };
    } catch (err) {
      return { error: `cannot use it: ${describeError(err)}` };
    }
  }
}
