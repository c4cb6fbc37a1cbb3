/**
 * The certificate store: one JSON record per certificate at `certs/<name>` (below --etcd-prefix).
 *
 *   { version: 1, name, domains: [...], chain: "<PEM, leaf first>",
 *     key: { alg: "aes-256-gcm", keyId, iv, tag, data },     // the private key, encrypted
 *     notBefore, notAfter, issuer, subject, fingerprint, source: "manual" | "acme", updatedAt }
 *
 * Whoever writes a record goes through this module, so every record is valid and encrypted alike:
 *
 *   const valid = validateCertificate({ certPem, keyPem });            // throws FABRIC_ERR_CERT, saying why
 *   const record = certRecord({ name, source: 'acme', valid, keyring });
 *   await kv.put(Keys.cert(name)).value(encodeCertRecord(record));
 *
 * and every reader too: `decodeCertRecord(key, raw)` (no key needed: domains, validity, source) and
 * `decryptKey(record.key, keyring)` (the PEM private key; needs `tls.keyFile`). `encryptKey` /
 * `decryptKey` also serve any other secret kept in etcd (the ACME account key).
 *
 * Encryption: AES-256-GCM (node:crypto), a fresh 12-byte IV per encryption, the key id in the
 * authenticated data; a wrong key, a changed byte or a swapped key id fails the tag check.
 */
import { createCipheriv, createDecipheriv, createHash, createPrivateKey, type KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { describeError, FabricError } from '../errors.js';
import { Keys } from '../keyspace.js';
import { decodeJson } from '../model/codec.js';
import type { Keyring } from './keyring.js';
import { CERT_NAME, isCertDomain, parseSubjectAltName } from './names.js';

export const CERT_SOURCES = ['manual', 'acme'] as const;
export type CertSource = (typeof CERT_SOURCES)[number];

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'is not base64');

export const encryptedKeySchema = z
  .object({
    alg: z.literal('aes-256-gcm'),
    /** Which `tls.keyFile` encrypted it (src/tls/keyring.ts keyId). */
    keyId: z.string().regex(/^[0-9a-f]{16}$/),
    iv: base64,
    tag: base64,
    data: base64,
  })
  .strict();

export type EncryptedKey = z.infer<typeof encryptedKeySchema>;

const isoTime = z.string().refine((t) => !Number.isNaN(Date.parse(t)), { message: 'is not a time' });

export const certRecordSchema = z
  .object({
    version: z.literal(1),
    name: z.string().regex(CERT_NAME, 'is not a certificate name'),
    domains: z
      .array(z.string().refine(isCertDomain, { message: 'is not a DNS name' }))
      .min(1)
      .max(100),
    /** PEM, the leaf first, then each issuer in turn. */
    chain: z.string().max(64 * 1024),
    key: encryptedKeySchema,
    notBefore: isoTime,
    notAfter: isoTime,
    issuer: z.string().max(1024),
    subject: z.string().max(1024),
    /** SHA-256 of the leaf (DER), colon-separated hex as openssl prints it. */
    fingerprint: z.string().regex(/^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/),
    source: z.enum(CERT_SOURCES),
    updatedAt: isoTime,
  })
  .strict();

export type CertRecord = z.infer<typeof certRecordSchema>;

/** What a certificate's reader may show: everything but the (encrypted) key and the PEM chain. */
export type CertSummary = Omit<CertRecord, 'key' | 'chain' | 'version'>;

export function certSummary(record: CertRecord): CertSummary {
  const { key: _key, chain: _chain, version: _version, ...summary } = record;
  return summary;
}

// ---------------------------------------------------------------- encryption

const IV_BYTES = 12;

function additionalData(keyId: string): Buffer {
  return Buffer.from(`fabric/aes-256-gcm/v1:${keyId}`);
}

export function encryptKey(plaintext: string, keyring: Keyring): EncryptedKey {
  const { id, bytes } = keyring.primary;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', bytes, iv).setAAD(additionalData(id));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { alg: 'aes-256-gcm', keyId: id, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

/** The plaintext, or FABRIC_ERR_TLS: a key id the keyring lacks, or a failed tag (wrong key, changed bytes). */
export function decryptKey(encrypted: EncryptedKey, keyring: Keyring): string {
  const key = keyring.keys.get(encrypted.keyId);
  if (!key) {
    throw new FabricError(
      'FABRIC_ERR_TLS',
      `encrypted with key ${encrypted.keyId}, which is not tls.keyFile (${keyring.primary.id}) nor one of tls.previousKeyFiles`,
    );
  }
  try {
    const iv = Buffer.from(encrypted.iv, 'base64');
    if (iv.length !== IV_BYTES) throw new Error(`IV of ${iv.length} bytes`);
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, iv).setAAD(additionalData(encrypted.keyId));
    decipher.setAuthTag(Buffer.from(encrypted.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(encrypted.data, 'base64')), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new FabricError('FABRIC_ERR_TLS', `the encrypted key does not decrypt with key ${key.id} (changed or damaged): ${describeError(err)}`, {
      cause: err,
    });
  }
}

// ---------------------------------------------------------------- validation

/** A certificate and its key, checked: what a record is made from. */
export interface ValidCertificate {
  /** The chain as parsed, leaf first. */
  certificates: X509Certificate[];
  /** The chain re-encoded as PEM (only the certificates, in order). */
  chainPem: string;
  /** The private key as unencrypted PKCS#8 PEM. */
  keyPem: string;
  /** The leaf's subjectAltName DNS names, lower-case, in its order. */
  domains: string[];
  notBefore: Date;
  notAfter: Date;
  issuer: string;
  subject: string;
  fingerprint: string;
}

export interface ValidateInput {
  certPem: string;
  keyPem: string;
  /** Where they came from, for the messages (file names). */
  certSource?: string;
  keySource?: string;
  now?: Date;
}

/** Clocks differ: a certificate issued a few minutes "in the future" is fine. */
const CLOCK_SKEW_MS = 5 * 60_000;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;

/**
 * Checks a certificate chain and its private key before anything is stored: the key matches the
 * leaf, the chain parses and is in order (each certificate signed by the next), none has expired,
 * and every name is a DNS name (wildcards allowed). Throws FABRIC_ERR_CERT with the reason.
 */
export function validateCertificate(input: ValidateInput): ValidCertificate {
  const certSource = input.certSource ?? 'the certificate';
  const now = input.now ?? new Date();
  const certificates = parseCertificates(input.certPem, certSource);
  const key = parsePrivateKey(input.keyPem, input.keySource ?? 'the key');
  checkKeyMatches(certificates, key, certSource);
  checkChainOrder(certificates, certSource);
  for (const [i, cert] of certificates.entries()) checkValidity(cert, i, certificates.length, now, certSource);
  const leaf = certificates[0]!;
  const domains = dnsNames(leaf, certSource);
  checkKeyStrength(key);
  return {
    certificates,
    chainPem: certificates.map((c) => c.toString().trim()).join('\n'),
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString().trim(),
    domains,
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    issuer: oneLine(leaf.issuer),
    subject: oneLine(leaf.subject),
    fingerprint: leaf.fingerprint256,
  };
}

function refuse(message: string): FabricError {
  return new FabricError('FABRIC_ERR_CERT', message);
}

function parseCertificates(text: string, source: string): X509Certificate[] {
  const blocks = [...text.matchAll(PEM_BLOCK)].filter((m) => m[1] === 'CERTIFICATE');
  if (blocks.length === 0) throw refuse(`${source}: no PEM certificate in it (expected "-----BEGIN CERTIFICATE-----" blocks)`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block[0]);
    } catch (err) {
      throw refuse(`${source}: certificate ${i + 1} of ${blocks.length} does not parse: ${describeError(err)}`);
    }
  });
}

function parsePrivateKey(text: string, source: string): KeyObject {
  const block = [...text.matchAll(PEM_BLOCK)].find((m) => m[1]!.endsWith('PRIVATE KEY'));
  if (!block) throw refuse(`${source}: no PEM private key in it (expected "-----BEGIN PRIVATE KEY-----" or an RSA/EC one)`);
  if (block[1] === 'ENCRYPTED PRIVATE KEY')
    throw refuse(`${source}: the private key is protected by a passphrase; give it unencrypted (openssl pkey -in F -out F2)`);
  try {
    return createPrivateKey(block[0]);
  } catch (err) {
    throw refuse(`${source}: the private key does not parse: ${describeError(err)}`);
  }
}

function checkKeyMatches(certificates: X509Certificate[], key: KeyObject, source: string): void {
  const index = certificates.findIndex((c) => safeCheckKey(c, key));
  if (index === 0) return;
  if (index > 0) {
    throw refuse(
      `${source}: the chain is out of order: the key belongs to certificate ${index + 1} (${oneLine(certificates[index]!.subject)}); the leaf must come first`,
    );
  }
  throw refuse(`${source}: the private key does not match the certificate (${oneLine(certificates[0]!.subject)})`);
}

function safeCheckKey(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false;
  }
}

function checkChainOrder(certificates: X509Certificate[], source: string): void {
  for (let i = 0; i + 1 < certificates.length; i++) {
    const cert = certificates[i]!;
    const issuer = certificates[i + 1]!;
    if (cert.checkIssued(issuer) && cert.verify(issuer.publicKey)) continue;
    throw refuse(
      `${source}: the chain is out of order: certificate ${i + 1} (${oneLine(cert.subject)}, issued by ${oneLine(cert.issuer)}) is not signed by ` +
        `certificate ${i + 2} (${oneLine(issuer.subject)}); give the leaf first, then each issuer in turn`,
    );
  }
}

function checkValidity(cert: X509Certificate, index: number, count: number, now: Date, source: string): void {
  const which = count === 1 ? 'the certificate' : `certificate ${index + 1} of ${count} (${oneLine(cert.subject)})`;
  const notAfter = new Date(cert.validTo);
  const notBefore = new Date(cert.validFrom);
  if (notAfter.getTime() <= now.getTime()) throw refuse(`${source}: ${which} expired on ${notAfter.toISOString()}`);
  if (notBefore.getTime() > now.getTime() + CLOCK_SKEW_MS) throw refuse(`${source}: ${which} is not valid before ${notBefore.toISOString()}`);
}

/** Every subjectAltName must be a DNS name: fabric serves certificates by host name (SNI). */
function dnsNames(leaf: X509Certificate, source: string): string[] {
  const entries = parseSubjectAltName(leaf.subjectAltName);
  if (entries.length === 0) throw refuse(`${source}: the certificate has no subjectAltName DNS names (clients ignore the common name)`);
  const names: string[] = [];
  for (const [type, value] of entries) {
    const name = value.toLowerCase();
    if (type !== 'DNS' || !isCertDomain(name)) {
      throw refuse(`${source}: subjectAltName ${type}:${value} is not a DNS name (a wildcard may only be a whole leftmost label: *.example.com)`);
    }
    if (!names.includes(name)) names.push(name);
  }
  if (names.length > 100) throw refuse(`${source}: ${names.length} names; at most 100`);
  return names;
}

function checkKeyStrength(key: KeyObject): void {
  const type = key.asymmetricKeyType;
  if (type === 'rsa' || type === 'rsa-pss') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw refuse(`the RSA key has ${bits} bits; at least 2048`);
    return;
  }
  if (type === 'ec') return;
  throw refuse(`the private key is ${type ?? 'of an unknown type'}: browsers accept RSA and ECDSA server keys`);
}

function oneLine(name: string): string {
  return name.split('\n').filter(Boolean).join(', ');
}

// ---------------------------------------------------------------- records

export interface CertRecordInput {
  name: string;
  source: CertSource;
  valid: ValidCertificate;
  keyring: Keyring;
  now?: Date;
}

/** A record ready to store: the validated chain and its key, encrypted with the keyring's primary key. */
export function certRecord(input: CertRecordInput): CertRecord {
  if (!CERT_NAME.test(input.name)) throw refuse(`"${input.name}" is not a certificate name: lower-case letters, digits, ".", "_" and "-", up to 128`);
  const { valid } = input;
  return {
    version: 1,
    name: input.name,
    domains: valid.domains,
    chain: valid.chainPem,
    key: encryptKey(valid.keyPem, input.keyring),
    notBefore: valid.notBefore.toISOString(),
    notAfter: valid.notAfter.toISOString(),
    issuer: valid.issuer,
    subject: valid.subject,
    fingerprint: valid.fingerprint,
    source: input.source,
    updatedAt: (input.now ?? new Date()).toISOString(),
  };
}

/** Canonical JSON (fields in schema order). */
export function encodeCertRecord(record: CertRecord): string {
  return JSON.stringify(certRecordSchema.parse(record));
}

/** A stored record, checked (FABRIC_ERR_DECODE names the key and the field); the key stays encrypted. */
export function decodeCertRecord(key: string, raw: string): CertRecord {
  const record = decodeJson(certRecordSchema, key, raw);
  if (key !== Keys.cert(record.name)) throw new FabricError('FABRIC_ERR_DECODE', `${key}: name "${record.name}" does not match the key`);
  return record;
}

/**
 * A stored record's version: a hash of etcd's value (so of the ciphertext, never of the key). Routers
 * publish the versions they serve; a renewal or re-import changes it.
 */
export function recordVersion(raw: string): string {
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

/** Chain and key in one PEM, as HAProxy's `crt` files and nginx's `ssl_certificate` + `ssl_certificate_key` take it. */
export function pemBundle(record: CertRecord, keyring: Keyring): string {
  return `${record.chain.trim()}\n${decryptKey(record.key, keyring).trim()}\n`;
}
