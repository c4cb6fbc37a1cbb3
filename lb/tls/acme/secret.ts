import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FabricError } from '../../../src/errors.js';

/**
 * A private key at rest in etcd: AES-256-GCM under the routers' shared `tls.keyFile`.
 * `keyId` names the key file that encrypted it (the first 8 bytes of its SHA-256), so a
 * router with another file says so instead of failing on the tag. Kept tiny on purpose:
 * the certificate store uses the same format and the two are merged into one module.
 */
export interface EncryptedKey {
  keyId: string;
  iv: string;
  tag: string;
  data: string;
}

const KEY_BYTES = 32;

/** Reads a key file: base64 of 32 random bytes (`openssl rand -base64 32`). */
export function readKeyFile(path: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new FabricError('FABRIC_ERR_CONFIG', `tls.keyFile ${path}: ${(err as Error).message}`);
  }
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== KEY_BYTES || key.toString('base64') !== text.trim()) {
    throw new FabricError('FABRIC_ERR_CONFIG', `tls.keyFile ${path}: must hold base64 of ${KEY_BYTES} random bytes (openssl rand -base64 ${KEY_BYTES})`);
  }
  return key;
}

export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

export function encryptKey(plain: string, key: Buffer): EncryptedKey {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return { keyId: keyId(key), iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

export function decryptKey(encrypted: EncryptedKey, key: Buffer): string {
  if (encrypted.keyId !== keyId(key)) {
    throw new FabricError('FABRIC_ERR_CONFIG', `encrypted with key ${encrypted.keyId}, but tls.keyFile is key ${keyId(key)}`);
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(encrypted.iv, 'base64'));
    decipher.setAuthTag(Buffer.from(encrypted.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(encrypted.data, 'base64')), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new FabricError('FABRIC_ERR_DECODE', `cannot decrypt: ${(err as Error).message}`);
  }
}
