// Helpers for the ACME tests: routers with (or without) `tls.acme` against a real pebble, a
// shared key file, and what etcd holds for a certificate.
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Etcd3 } from 'etcd3';
import { decryptKey } from '../../src/tls/cert-record.js';
import { createKeyring, type Keyring, keyId } from '../../src/tls/keyring.js';
import { assertBuilt, type EtcdServer, freePort, type Pebble } from '../harness/index.js';
import { endpoint, PREFIX, putEndpoint, putRaw, type Resources, type RunningRouter, startRouter, type WebServer } from '../router/support.js';

assertBuilt(['lb/tls/acme']);

/** A `tls.keyFile` every router of a test shares: base64 of 32 random bytes. */
/** The keyring a router builds from the key file written by writeKeyFile. */
export function keyringOf(key: Buffer): Keyring {
  return createKeyring({ id: keyId(key), bytes: key });
}

export function writeKeyFile(dir: string): { file: string; key: Buffer } {
  const key = randomBytes(32);
  const file = path.join(dir, 'tls.key');
  fs.writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600 });
  return { file, key };
}

export interface AcmeRouterOptions {
  /** `tls.acme` against this pebble; without it the router answers challenges but orders nothing. */
  pebble?: Pebble;
  keyFile?: string;
  /** HAProxy's HTTP port (pebble validates against the port it was started with). */
  httpPort?: number;
  routerId?: string;
  retry?: { min: string; max: string };
  lockTtl?: string;
  tlsDefault?: 'none' | 'auto';
  /** The account's contact; `null`: none. */
  email?: string | null;
}

let routers = 0;

export async function startAcmeRouter(res: Resources, etcd: EtcdServer, opts: AcmeRouterOptions = {}): Promise<RunningRouter> {
  const tls = opts.pebble
    ? {
        keyFile: opts.keyFile,
        default: opts.tlsDefault ?? 'none',
        acme: {
          directory: opts.pebble.directory,
          ...(opts.email === null ? {} : { email: opts.email ?? 'ops@example.com' }),
          caBundle: opts.pebble.caBundle,
          retry: opts.retry ?? { min: '1s', max: '8s' },
          lockTtl: opts.lockTtl ?? '3s',
        },
      }
    : undefined;
  return startRouter(res, etcd, {
    httpPort: opts.httpPort ?? (await freePort()),
    config: { routerId: opts.routerId ?? `acme-router-${process.pid}-${++routers}`, ...(tls ? { tls } : {}) },
  });
}

/** A service that wants an ACME certificate (`tls.cert: auto` in its spec) with one endpoint. */
export async function putAutoService(client: Etcd3, name: string, web: WebServer, how: 'spec' | 'label' = 'spec'): Promise<number> {
  if (how === 'spec') await putRaw(client, `services/${name}`, JSON.stringify({ name, tls: { cert: 'auto' } }));
  const e = endpoint({ service: name, port: web.port });
  return putEndpoint(client, how === 'label' ? ({ ...e, tls: 'auto' } as typeof e) : e);
}

export interface StoredCert {
  name: string;
  domains: string[];
  chain: string;
  key: { alg: 'aes-256-gcm'; keyId: string; iv: string; tag: string; data: string };
  notBefore: string;
  notAfter: string;
  issuer: string;
  source: string;
}

export async function readCert(client: Etcd3, name: string): Promise<StoredCert | undefined> {
  const text = await client.get(`${PREFIX}/certs/${name}`).string();
  return text === null ? undefined : (JSON.parse(text) as StoredCert);
}

/** Every value under the prefix, raw. */
export async function rawValues(client: Etcd3): Promise<Record<string, string>> {
  return client.getAll().prefix(`${PREFIX}/`).strings();
}

/**
 * The chain verifies up to pebble's root (leaf ← intermediates ← root), covers `host`, and the
 * stored key (decrypted with the routers' key file) is the leaf's.
 */
export function verifyCert(cert: StoredCert, rootPem: string, host: string, key: Buffer): void {
  const pems = cert.chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const chain = pems.map((p) => new X509Certificate(p));
  const root = new X509Certificate(rootPem);
  if (chain.length < 2) throw new Error(`chain has ${chain.length} certificates`);
  for (let i = 0; i < chain.length; i++) {
    const issuer = chain[i + 1] ?? root;
    if (!chain[i]!.checkIssued(issuer) || !chain[i]!.verify(issuer.publicKey)) throw new Error(`certificate ${i} is not signed by the next one (or the root)`);
  }
  if (!chain[0]!.checkHost(host)) throw new Error(`leaf does not cover ${host}: ${chain[0]!.subjectAltName}`);
  if (!chain[0]!.checkPrivateKey(createPrivateKey(decryptKey(cert.key, keyringOf(key))))) throw new Error('stored key does not match the leaf');
}
