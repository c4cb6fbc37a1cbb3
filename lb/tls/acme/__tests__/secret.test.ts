import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decryptKey, encryptKey, readKeyFile } from '../secret.js';

describe('private keys at rest: AES-256-GCM under tls.keyFile', () => {
  const key = randomBytes(32);
  const pem = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n-----END PRIVATE KEY-----\n';

  it('round-trips, with a fresh IV each time, and nothing of the clear text in the record', () => {
    const a = encryptKey(pem, key);
    const b = encryptKey(pem, key);
    expect(a.iv).not.toBe(b.iv);
    expect(JSON.stringify(a)).not.toContain('PRIVATE KEY');
    expect(JSON.stringify(a)).not.toContain('MIGHAgEAMBMGByqGSM49');
    expect(decryptKey(a, key)).toBe(pem);
  });

  it('another key file says which key it needs; a tampered record fails on its tag', () => {
    const sealed = encryptKey(pem, key);
    expect(() => decryptKey(sealed, randomBytes(32))).toThrow(/encrypted with key [0-9a-f]{16}, but tls.keyFile is key/);
    const data = Buffer.from(sealed.data, 'base64');
    data[0] = data[0]! ^ 1;
    expect(() => decryptKey({ ...sealed, data: data.toString('base64') }, key)).toThrow(/cannot decrypt/);
  });

  it('reads a key file of base64 of 32 bytes, and refuses anything else', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-key-'));
    try {
      const good = path.join(dir, 'good');
      fs.writeFileSync(good, `${key.toString('base64')}\n`);
      expect(readKeyFile(good).equals(key)).toBe(true);
      const short = path.join(dir, 'short');
      fs.writeFileSync(short, randomBytes(16).toString('base64'));
      expect(() => readKeyFile(short)).toThrow(/base64 of 32 random bytes/);
      expect(() => readKeyFile(path.join(dir, 'missing'))).toThrow(/tls.keyFile/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
