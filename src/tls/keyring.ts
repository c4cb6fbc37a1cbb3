import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describeError, FabricError } from '../errors.js';

/**
 * The keys that encrypt private keys at rest in etcd (`tls.keyFile`: base64 of 32 random bytes,
 * `openssl rand -base64 32`, the same file on every router and wherever `fabric cert import` runs).
 * Each key has an id (a hash of it, safe to store): a record names the key it was encrypted with,
 * so a keyring holding the new key and the previous ones reads every record during a rotation.
 */
export interface TlsKey {
  /** 16 hex digits of SHA-256 over a label and the key: names the key, reveals nothing of it. */
  id: string;
  bytes: Buffer;
}

export interface Keyring {
  /** Encrypts new records. */
  primary: TlsKey;
  /** Every key that may decrypt: the primary and any previous ones, by id. */
  keys: ReadonlyMap<string, TlsKey>;
}

export const KEY_BYTES = 32;

export function keyId(bytes: Buffer): string {
  return createHash('sha256').update('fabric-tls-key-id\0').update(bytes).digest('hex').slice(0, 16);
}

/** A key from its file's text: base64 (surrounding whitespace ignored) of exactly 32 bytes. */
export function parseKey(text: string, where: string): TlsKey {
  const trimmed = text.trim();
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : Buffer.alloc(0);
  if (bytes.length !== KEY_BYTES) {
    throw new FabricError('FABRIC_ERR_TLS', `${where}: not a TLS key file: expected base64 of ${KEY_BYTES} random bytes (openssl rand -base64 32)`);
  }
  return { id: keyId(bytes), bytes };
}

export function readKeyFile(path: string): TlsKey {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new FabricError('FABRIC_ERR_TLS', `cannot read the TLS key file ${path}: ${describeError(err)}`, { cause: err });
  }
  return parseKey(text, path);
}

/** The primary key (encrypts) and older ones (still decrypt): see docs/tls.md, "Rotating the key file". */
export function createKeyring(primary: TlsKey, previous: TlsKey[] = []): Keyring {
  const keys = new Map<string, TlsKey>();
  for (const key of [primary, ...previous]) keys.set(key.id, key);
  return { primary, keys };
}

export function loadKeyring(keyFile: string, previousKeyFiles: string[] = []): Keyring {
  return createKeyring(readKeyFile(keyFile), previousKeyFiles.map(readKeyFile));
}
