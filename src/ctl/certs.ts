import { readFileSync } from 'node:fs';
import type { Namespace } from 'etcd3';
import { describeError, FabricError } from '../errors.js';
import { etcdCall } from '../etcd-errors.js';
import { Keys } from '../keyspace.js';
import { type CertRecord, certRecord, decodeCertRecord, decryptKey, encodeCertRecord, encryptKey, validateCertificate } from '../tls/cert-record.js';
import { createKeyring, type Keyring, readKeyFile } from '../tls/keyring.js';
import { isCertName } from '../tls/names.js';

/** `fabric cert import` and `fabric cert renew` against the keyspace (the commands are in commands.ts). */

export interface ImportInput {
  name: string;
  certFile: string;
  keyFile: string;
  /** `--tls-key-file`, FABRIC_TLS_KEY_FILE or the config's `tls.keyFile`. */
  tlsKeyFile: string | undefined;
}

export interface Prepared {
  name: string;
  record: CertRecord;
  value: string;
}

/**
 * Everything that can be checked before etcd is touched: the name, the files, the TLS key file and
 * the certificate itself (validateCertificate). A failure writes nothing and says why.
 */
export function prepareImport(input: ImportInput, now = new Date()): Prepared {
  assertCertName(input.name);
  if (!input.tlsKeyFile) {
    throw new FabricError(
      'FABRIC_ERR_TLS',
      'no TLS key file to encrypt the private key with: give --tls-key-file FILE (or FABRIC_TLS_KEY_FILE, or tls.keyFile in --config)',
    );
  }
  const keyring = createKeyring(readKeyFile(input.tlsKeyFile));
  const certPem = readPem(input.certFile, '--cert');
  const keyPem = readPem(input.keyFile, '--key');
  const valid = validateCertificate({ certPem, keyPem, certSource: input.certFile, keySource: input.keyFile, now });
  const record = certRecord({ name: input.name, source: 'manual', valid, keyring, now });
  return { name: input.name, record, value: encodeCertRecord(record) };
}

/** Writes the record; returns whether it replaced one, and the key ids other stored records use (a warning if they differ). */
export async function storeCert(kv: Namespace, prepared: Prepared): Promise<{ replaced: CertRecord | undefined; otherKeyIds: string[] }> {
  const key = Keys.cert(prepared.name);
  const existing = await etcdCall('read', key, () => kv.get(key).string());
  await etcdCall('write', key, () => kv.put(key).value(prepared.value).exec());
  const all = await etcdCall('read', Keys.certsRoot, () => kv.getAll().prefix(Keys.certsRoot).strings());
  const otherKeyIds = new Set<string>();
  for (const [otherKey, raw] of Object.entries(all)) {
    if (otherKey === key) continue;
    try {
      const id = decodeCertRecord(otherKey, raw).key.keyId;
      if (id !== prepared.record.key.keyId) otherKeyIds.add(id);
    } catch {
      // undecodable records are the routers' to report
    }
  }
  return { replaced: existing === null ? undefined : safeDecode(key, existing), otherKeyIds: [...otherKeyIds] };
}

/**
 * `fabric cert renew NAME`: an ACME certificate gets a renewal request (`acme/renew/<name>`) that the
 * routers' ACME code honours; a manual one cannot be renewed by fabric.
 */
export async function requestRenewal(kv: Namespace, name: string, now = new Date()): Promise<string> {
  assertCertName(name);
  const key = Keys.cert(name);
  const raw = await etcdCall('read', key, () => kv.get(key).string());
  if (raw === null) throw new FabricError('FABRIC_ERR_NOT_FOUND', `cert ${name} not found (${key})`);
  const record = decodeCertRecord(key, raw);
  if (record.source !== 'acme') {
    throw new FabricError(
      'FABRIC_ERR_CERT',
      `cert ${name} is a manual certificate (source: ${record.source}): fabric cannot renew it; import the renewed one with \`fabric cert import ${name} --cert FILE --key FILE\``,
    );
  }
  const request = Keys.acmeRenew(name);
  const value = JSON.stringify({ name, requestedAt: now.toISOString(), fingerprint: record.fingerprint, by: 'fabric cert renew' });
  await etcdCall('write', request, () => kv.put(request).value(value).exec());
  return request;
}

export interface RekeyResult {
  rekeyed: string[];
  unchanged: string[];
  /** `name: reason` for records that could not be read or decrypted: left as they are. */
  failed: string[];
}

/**
 * `fabric cert rekey`: every stored private key not yet under the keyring's primary key is
 * decrypted (with a previous key) and encrypted again with the primary. Each record is replaced
 * only if nobody changed it meanwhile (a compare on its mod revision). Run it once every router
 * has the new key file and the old one in tls.previousKeyFiles (docs/tls.md, "Rotating the key file").
 */
export async function rekeyCerts(kv: Namespace, keyring: Keyring): Promise<RekeyResult> {
  const result: RekeyResult = { rekeyed: [], unchanged: [], failed: [] };
  const listed = await etcdCall('read', Keys.certsRoot, () => kv.getAll().prefix(Keys.certsRoot).exec());
  for (const entry of listed.kvs) {
    const key = entry.key.toString();
    const name = key.slice(Keys.certsRoot.length);
    try {
      const record = decodeCertRecord(key, entry.value.toString());
      if (record.key.keyId === keyring.primary.id) {
        result.unchanged.push(name);
        continue;
      }
      const value = encodeCertRecord({ ...record, key: encryptKey(decryptKey(record.key, keyring), keyring) });
      const txn = await etcdCall('write', key, () => kv.if(key, 'Mod', '==', entry.mod_revision).then(kv.put(key).value(value)).commit());
      if (txn.succeeded) result.rekeyed.push(name);
      else result.failed.push(`${name}: changed while being re-encrypted; run rekey again`);
    } catch (err) {
      result.failed.push(`${name}: ${describeError(err)}`);
    }
  }
  return result;
}

export function assertCertName(name: string): void {
  if (!isCertName(name)) {
    throw new FabricError(
      'FABRIC_ERR_CERT',
      `"${name}" is not a certificate name: 1-128 of lower-case letters, digits, ".", "_" and "-", starting and ending with a letter or digit`,
    );
  }
}

function readPem(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new FabricError('FABRIC_ERR_CERT', `${flag} ${file}: ${describeError(err)}`, { cause: err });
  }
}

function safeDecode(key: string, raw: string): CertRecord | undefined {
  try {
    return decodeCertRecord(key, raw);
  } catch {
    return undefined;
  }
}
