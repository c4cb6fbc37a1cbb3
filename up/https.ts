import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Namespace } from 'etcd3';
import { execa } from 'execa';
import { parseHostPort } from '../src/grammar.js';
import { certRecord, encodeCertRecord, validateCertificate } from '../src/tls/cert-record.js';
import { loadKeyring } from '../src/tls/keyring.js';
import { answerOf } from './answer.js';

/**
 * `fabric up --https`: a local CA under the data dir and a certificate for `*.<domain>` and
 * `<domain>` it signs, stored in etcd as `certs/fabric-up` (the certificate store's shape, its
 * key encrypted with the data dir's `tls.key`) for the router to serve. Made with the openssl
 * CLI (node:crypto cannot sign certificates); kept across runs, the leaf remade when it is for
 * another domain or expires within 30 days.
 */
export interface LocalPki {
  /** The CA certificate users pass to `curl --cacert`. */
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The routers' `tls.keyFile`. */
  tlsKeyFile: string;
}

export const UP_CERT_NAME = 'fabric-up';
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const RENEW_WITHIN_MS = 30 * 86_400_000;

export async function ensureLocalPki(dataDir: string, domain: string): Promise<LocalPki> {
  const dir = join(dataDir, 'tls');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const pki: LocalPki = {
    caFile: join(dataDir, 'ca.pem'),
    certFile: join(dir, 'wildcard.pem'),
    keyFile: join(dir, 'wildcard.key'),
    tlsKeyFile: join(dataDir, 'tls.key'),
  };
  const caKey = join(dir, 'ca.key');
  if (!existsSync(pki.tlsKeyFile)) await writeFile(pki.tlsKeyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  if (!existsSync(pki.caFile) || !existsSync(caKey)) {
    await openssl([
      'req',
      '-x509',
      ...EC,
      '-keyout',
      caKey,
      '-out',
      pki.caFile,
      '-days',
      '3650',
      '-subj',
      `/CN=fabric up local CA (${domain})`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  }
  if (!(await leafFits(pki.certFile, domain))) {
    const csr = join(dir, 'wildcard.csr');
    const ext = join(dir, 'wildcard.ext');
    await writeFile(ext, `subjectAltName=DNS:*.${domain},DNS:${domain}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
    await openssl(['req', ...EC, '-keyout', pki.keyFile, '-out', csr, '-subj', `/CN=*.${domain}`]);
    await openssl(['x509', '-req', '-in', csr, '-CA', pki.caFile, '-CAkey', caKey, '-CAcreateserial', '-out', pki.certFile, '-days', '397', '-extfile', ext]);
  }
  return pki;
}

async function leafFits(certFile: string, domain: string): Promise<boolean> {
  if (!existsSync(certFile)) return false;
  const cert = new X509Certificate(await readFile(certFile));
  return cert.checkHost(`x.${domain}`) !== undefined && cert.checkHost(domain) !== undefined && Date.parse(cert.validTo) - Date.now() > RENEW_WITHIN_MS;
}

/** `certs/fabric-up` in the certificate store's shape: the chain (leaf, then the CA) and the key encrypted. */
export async function storeUpCert(kv: Namespace, pki: LocalPki): Promise<void> {
  const [leafPem, caPem, keyPem] = await Promise.all([readFile(pki.certFile, 'utf8'), readFile(pki.caFile, 'utf8'), readFile(pki.keyFile, 'utf8')]);
  const valid = validateCertificate({ certPem: `${leafPem.trim()}\n${caPem.trim()}\n`, keyPem, certSource: pki.certFile, keySource: pki.keyFile });
  const record = certRecord({ name: UP_CERT_NAME, source: 'manual', valid, keyring: loadKeyring(pki.tlsKeyFile) });
  await kv.put(`certs/${UP_CERT_NAME}`).value(encodeCertRecord(record)).exec();
}

/** One HTTPS request to `host` through `https` (HOST:PORT), trusting only the local CA: "200: body". */
export async function httpsGet(https: string, host: string, caFile: string): Promise<string> {
  return answerOf(https, host, await readFile(caFile));
}

/** What a user types: `*.localhost` resolves to loopback in curl itself; other domains need `--resolve`. */
export function curlLine(https: string, host: string, caFile: string): string {
  const target = parseHostPort(https);
  const port = target?.port ?? 443;
  const resolve = host.endsWith('.localhost') || !target ? '' : ` --resolve ${host}:${port}:${target.host}`;
  return `curl --cacert ${caFile}${resolve} https://${host}:${port}`;
}

function openssl(args: string[]): Promise<unknown> {
  return execa('openssl', args);
}
