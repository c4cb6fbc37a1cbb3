import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IssuedCert, TestPki } from '../../../test/harness/pki.js';
import { FabricError } from '../../errors.js';
import { certRecord, decodeCertRecord, decryptKey, encodeCertRecord, encryptKey, pemBundle, validateCertificate } from '../cert-record.js';
import { createKeyring, keyId, parseKey } from '../keyring.js';
import { covers, isCertDomain, parseSubjectAltName } from '../names.js';

const newKey = () => parseKey(randomBytes(32).toString('base64'), 'test');

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FabricError);
    expect((err as FabricError).code).toBe('FABRIC_ERR_CERT');
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('key encryption (AES-256-GCM)', () => {
  const keyring = createKeyring(newKey());
  const secret = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----';

  it('round-trips, with a fresh IV every time, and stores no plaintext', () => {
    const a = encryptKey(secret, keyring);
    const b = encryptKey(secret, keyring);
    expect(decryptKey(a, keyring)).toBe(secret);
    expect(decryptKey(b, keyring)).toBe(secret);
    expect(a.iv).not.toBe(b.iv);
    expect(a.data).not.toBe(b.data);
    expect(a.keyId).toBe(keyring.primary.id);
    expect(JSON.stringify(a)).not.toContain('PRIVATE KEY');
    expect(Buffer.from(a.data, 'base64').toString('latin1')).not.toContain('PRIVATE');
  });

  it('detects tampering: a changed byte of the data, the tag, the IV or the key id fails', () => {
    const sealed = encryptKey(secret, keyring);
    const flip = (b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[0]! ^= 1;
      return bytes.toString('base64');
    };
    for (const changed of [
      { ...sealed, data: flip(sealed.data) },
      { ...sealed, tag: flip(sealed.tag) },
      { ...sealed, iv: flip(sealed.iv) },
    ]) {
      expect(() => decryptKey(changed, keyring)).toThrow(/does not decrypt/);
    }
    // Another key under the same id (a forged key id) fails the tag check too.
    const other = newKey();
    const forged = createKeyring({ id: keyring.primary.id, bytes: other.bytes });
    expect(() => decryptKey(sealed, forged)).toThrow(/does not decrypt/);
  });

  it('a key the keyring does not hold is named; previous keys still decrypt (rotation)', () => {
    const old = createKeyring(newKey());
    const sealed = encryptKey(secret, old);
    const fresh = newKey();
    expect(() => decryptKey(sealed, createKeyring(fresh))).toThrow(/not tls.keyFile/);
    const rotating = createKeyring(fresh, [old.primary]);
    expect(decryptKey(sealed, rotating)).toBe(secret);
    expect(encryptKey(secret, rotating).keyId).toBe(fresh.id);
  });

  it('key files: base64 of exactly 32 bytes; the id is stable and not the key', () => {
    const text = randomBytes(32).toString('base64');
    const key = parseKey(`${text}\n`, 'f');
    expect(key.id).toBe(keyId(Buffer.from(text, 'base64')));
    expect(key.id).toMatch(/^[0-9a-f]{16}$/);
    expect(text).not.toContain(key.id);
    for (const bad of ['', 'not base64!', randomBytes(16).toString('base64'), randomBytes(33).toString('base64')]) {
      expect(() => parseKey(bad, 'f')).toThrow(/not a TLS key file/);
    }
  });
});

describe('names', () => {
  it('wildcards cover exactly one label', () => {
    expect(covers('*.example.com', 'a.example.com')).toBe(true);
    expect(covers('*.example.com', 'a.b.example.com')).toBe(false);
    expect(covers('*.example.com', 'example.com')).toBe(false);
    expect(covers('www.example.com', 'www.example.com')).toBe(true);
    expect(covers('www.example.com', 'api.example.com')).toBe(false);
  });

  it('DNS names and wildcards; nothing else', () => {
    for (const ok of ['a.com', '*.a.com', 'x-1.y.z']) expect(isCertDomain(ok)).toBe(true);
    for (const bad of ['*.com', 'a.*.com', '*a.com', 'com', 'a_b.com', '127.0.0.1', 'a..b', '']) expect(isCertDomain(bad)).toBe(false);
  });

  it("parses node's subjectAltName text, quoted values included", () => {
    expect(parseSubjectAltName('DNS:a.com, IP Address:10.0.0.1, DNS:"odd,name"')).toEqual([
      ['DNS', 'a.com'],
      ['IP Address', '10.0.0.1'],
      ['DNS', 'odd,name'],
    ]);
    expect(parseSubjectAltName(undefined)).toEqual([]);
  });
});

describe('validateCertificate', () => {
  let dir: string;
  let pki: TestPki;
  let good: IssuedCert;
  let other: IssuedCert;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-cert-unit-'));
    pki = await TestPki.create(dir);
    good = await pki.leaf(['web.example.com', '*.web.example.com']);
    other = await pki.leaf(['other.example.com']);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('accepts a chain in order with its key: domains, dates, issuer, fingerprint', () => {
    const valid = validateCertificate({ certPem: good.chainPem, keyPem: good.keyPem });
    expect(valid.domains).toEqual(['web.example.com', '*.web.example.com']);
    expect(valid.certificates).toHaveLength(2);
    expect(valid.issuer).toContain('fabric test intermediate');
    expect(valid.notAfter.getTime()).toBeGreaterThan(Date.now());
    expect(valid.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(valid.chainPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
  });

  it('refuses a key of another certificate', () => {
    expect(refusal(() => validateCertificate({ certPem: good.chainPem, keyPem: other.keyPem }))).toMatch(/private key does not match/);
  });

  it('refuses garbage, in the certificate and in the key', () => {
    expect(refusal(() => validateCertificate({ certPem: 'hello', keyPem: good.keyPem }))).toMatch(/no PEM certificate/);
    const broken = '-----BEGIN CERTIFICATE-----\nnot really base64 der\n-----END CERTIFICATE-----\n';
    expect(refusal(() => validateCertificate({ certPem: broken, keyPem: good.keyPem }))).toMatch(/does not parse/);
    expect(refusal(() => validateCertificate({ certPem: good.chainPem, keyPem: 'nope' }))).toMatch(/no PEM private key/);
  });

  it('refuses a chain out of order: intermediate first, or an unrelated issuer', async () => {
    const swapped = `${await pki.intermediatePem()}${good.certPem}`;
    expect(refusal(() => validateCertificate({ certPem: swapped, keyPem: good.keyPem }))).toMatch(/out of order.*leaf must come first/);
    const wrongIssuer = `${good.certPem}${await pki.rootPem()}`;
    expect(refusal(() => validateCertificate({ certPem: wrongIssuer, keyPem: good.keyPem }))).toMatch(/out of order.*is not signed by/);
  });

  it('refuses an expired certificate, and one not yet valid', async () => {
    const expired = await pki.leaf(['old.example.com'], { start: new Date('2020-01-01T00:00:00Z'), end: new Date('2020-02-01T00:00:00Z') });
    expect(refusal(() => validateCertificate({ certPem: expired.chainPem, keyPem: expired.keyPem }))).toMatch(/expired on 2020-02-01/);
    expect(refusal(() => validateCertificate({ certPem: good.chainPem, keyPem: good.keyPem, now: new Date(Date.now() - 2 * 86_400_000) }))).toMatch(
      /not valid before/,
    );
  });

  it('refuses names that are not DNS names, and certificates without any', async () => {
    const withIp = await pki.leaf(['ip.example.com', 'IP:127.0.0.1']);
    expect(refusal(() => validateCertificate({ certPem: withIp.chainPem, keyPem: withIp.keyPem }))).toMatch(/IP Address:127.0.0.1 is not a DNS name/);
    const badWildcard = await pki.leaf(['*.com']);
    expect(refusal(() => validateCertificate({ certPem: badWildcard.chainPem, keyPem: badWildcard.keyPem }))).toMatch(/\*\.com is not a DNS name/);
  });

  it('refuses RSA keys under 2048 bits', async () => {
    const weak = await pki.leaf(['weak.example.com'], { key: 'rsa1024' });
    expect(refusal(() => validateCertificate({ certPem: weak.chainPem, keyPem: weak.keyPem }))).toMatch(/1024 bits/);
  });

  it('records encode canonically, decode without the key file, and hold the key only encrypted', () => {
    const keyring = createKeyring(newKey());
    const valid = validateCertificate({ certPem: good.chainPem, keyPem: good.keyPem });
    const record = certRecord({ name: 'web', source: 'manual', valid, keyring });
    const raw = encodeCertRecord(record);
    expect(raw).not.toContain('PRIVATE KEY');
    expect(raw).not.toContain(good.keyPem.split('\n')[1]!);
    const decoded = decodeCertRecord('certs/web', raw);
    expect(decoded).toEqual(record);
    expect(encodeCertRecord(decoded)).toBe(raw);
    expect(pemBundle(decoded, keyring)).toContain(valid.keyPem);
    expect(() => decodeCertRecord('certs/other', raw)).toThrow(/does not match the key/);
    expect(() => decodeCertRecord('certs/web', raw.replace('"manual"', '"stolen"'))).toThrow(/source/);
    expect(() => certRecord({ name: 'Bad Name', source: 'manual', valid, keyring })).toThrow(/not a certificate name/);
  });
});
