// `fabric cert import|renew`, `fabric get certs`, `fabric delete cert`: the built CLI against a real
// etcd, with certificates from a test CA made by openssl. A refused import writes nothing.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys } from '../../src/keyspace.js';
import { certRecord, decodeCertRecord, decryptKey, encodeCertRecord, recordVersion, validateCertificate } from '../../src/tls/cert-record.js';
import { createKeyring, readKeyFile } from '../../src/tls/keyring.js';
import { type IssuedCert, TestPki } from '../harness/pki.js';
import { fabric, keysUnder, useCluster, writeTemp } from './support.js';

const cluster = useCluster();
let dir: string;
let pki: TestPki;
let keyFile: string;
let good: IssuedCert;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-cert-cli-'));
  pki = await TestPki.create(path.join(dir, 'pki'));
  keyFile = writeTemp(dir, 'tls.key', `${randomBytes(32).toString('base64')}\n`);
  good = await pki.leaf(['www.example.com', '*.example.com']);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const importArgs = (name: string, cert: string, key: string) => ['cert', 'import', name, '--cert', cert, '--key', key, '--tls-key-file', keyFile];

describe('fabric cert import', () => {
  it('stores the chain and the key encrypted: routers with the key file can read it, nobody else', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const result = await fabric(c, prefix, importArgs('web', good.chainFile, good.keyFile));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^cert\/web imported: www\.example\.com, \*\.example\.com; issuer CN=fabric test intermediate; not after /);
    const keys = await keysUnder(c, prefix);
    const raw = keys.get('certs/web')!.value.toString();
    expect(raw).not.toContain('PRIVATE KEY');
    const record = decodeCertRecord('certs/web', raw);
    expect(record).toMatchObject({ name: 'web', source: 'manual', domains: ['www.example.com', '*.example.com'] });
    expect(record.chain.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(decryptKey(record.key, createKeyring(readKeyFile(keyFile)))).toBe(validateCertificate({ certPem: good.chainPem, keyPem: good.keyPem }).keyPem);
    // Again: replaced.
    expect((await fabric(c, prefix, importArgs('web', good.chainFile, good.keyFile))).stdout).toMatch(/^cert\/web replaced/);
  });

  it('the key file may come from FABRIC_TLS_KEY_FILE or tls.keyFile of --config; without one nothing is written', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const base = ['cert', 'import', 'env', '--cert', good.chainFile, '--key', good.keyFile];
    expect((await fabric(c, prefix, base, '', { FABRIC_TLS_KEY_FILE: keyFile })).code).toBe(0);
    const config = writeTemp(dir, 'router.yaml', `domain: apps.test\ntls:\n  keyFile: ${keyFile}\ntargets: []\n`);
    expect((await fabric(c, prefix, ['cert', 'import', 'conf', '--cert', good.chainFile, '--key', good.keyFile, '--config', config])).code).toBe(0);
    const missing = await fabric(c, prefix, ['cert', 'import', 'none', '--cert', good.chainFile, '--key', good.keyFile]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/FABRIC_ERR_TLS.*no TLS key file/);
    const badKey = writeTemp(dir, 'short.key', 'c2hvcnQ=\n');
    expect((await fabric(c, prefix, ['cert', 'import', 'bad', ...base.slice(3), '--tls-key-file', badKey])).stderr).toMatch(/not a TLS key file/);
    expect([...(await keysUnder(c, prefix)).keys()].sort()).toEqual(['certs/conf', 'certs/env']);
  });

  it('refuses bad input with the reason, writing nothing: mismatched key, expired, garbage, chain out of order, a name that is not a DNS name', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const other = await pki.leaf(['other.example.com']);
    const expired = await pki.leaf(['old.example.com'], { start: new Date('2020-01-01T00:00:00Z'), end: new Date('2020-06-01T00:00:00Z') });
    const withIp = await pki.leaf(['ip.example.com', 'IP:10.1.2.3']);
    const garbage = writeTemp(dir, 'garbage.pem', 'this is not a certificate\n');
    const swapped = writeTemp(dir, 'swapped.pem', `${await pki.intermediatePem()}${good.certPem}`);
    const cases: Array<[string, string[], RegExp]> = [
      ['mismatched key', importArgs('a', good.chainFile, other.keyFile), /private key does not match the certificate/],
      ['expired', importArgs('b', expired.chainFile, expired.keyFile), /expired on 2020-06-01/],
      ['garbage PEM', importArgs('c', garbage, good.keyFile), /no PEM certificate/],
      ['garbage key', importArgs('d', good.chainFile, garbage), /no PEM private key/],
      ['chain out of order', importArgs('e', swapped, good.keyFile), /chain is out of order/],
      ['not a DNS name', importArgs('f', withIp.chainFile, withIp.keyFile), /IP Address:10\.1\.2\.3 is not a DNS name/],
      ['bad certificate name', importArgs('Not_Valid!', good.chainFile, good.keyFile), /is not a certificate name/],
      ['missing file', importArgs('g', path.join(dir, 'nope.pem'), good.keyFile), /--cert .*nope\.pem/],
    ];
    for (const [what, args, reason] of cases) {
      const result = await fabric(c, prefix, args);
      expect(result.code, what).toBe(1);
      expect(result.stderr, what).toMatch(/FABRIC_ERR_CERT/);
      expect(result.stderr, what).toMatch(reason);
      expect(result.stdout, what).toBe('');
    }
    expect((await keysUnder(c, prefix)).size).toBe(0);
  });
});

describe('fabric get certs, delete cert, cert renew', () => {
  it('lists certificates with the routers serving them, deletes them, and renews only ACME ones', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    expect((await fabric(c, prefix, importArgs('web', good.chainFile, good.keyFile))).code).toBe(0);
    // An ACME certificate, written as the ACME code writes it: through the same record functions.
    const keyring = createKeyring(readKeyFile(keyFile));
    const acmeCert = await pki.leaf(['api.example.com']);
    const record = certRecord({
      name: 'auto-api.example.com',
      source: 'acme',
      valid: validateCertificate({ certPem: acmeCert.chainPem, keyPem: acmeCert.keyPem }),
      keyring,
    });
    const kv = c.client.namespace(`${prefix}/`);
    await kv.put(Keys.cert(record.name)).value(encodeCertRecord(record)).exec();
    const webRaw = (await keysUnder(c, prefix)).get('certs/web')!.value.toString();
    await kv
      .put(Keys.routerStatus('r1'))
      .value(JSON.stringify({ routerId: 'r1', certs: [{ name: 'web', version: recordVersion(webRaw), targets: ['haproxy'] }] }))
      .exec();
    await kv
      .put(Keys.routerStatus('r2'))
      .value(JSON.stringify({ routerId: 'r2', certs: [{ name: 'web', version: 'old', targets: ['nginx'] }] }))
      .exec();

    const table = await fabric(c, prefix, ['get', 'certs']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+DOMAINS\s+ISSUER\s+NOT AFTER\s+SOURCE\s+SERVED BY$/);
    expect(lines[1]).toMatch(/^auto-api\.example\.com\s+api\.example\.com\s+CN=fabric test intermediate\s+\S+\s+acme\s+-$/);
    expect(lines[2]).toMatch(/^web\s+www\.example\.com,\*\.example\.com\s+.*manual\s+r1,r2 \(older\)$/);
    const json = JSON.parse((await fabric(c, prefix, ['get', 'certs', '-o', 'json'])).stdout);
    expect(json[1]).toMatchObject({
      name: 'web',
      servedBy: [
        { router: 'r1', targets: ['haproxy'], current: true },
        { router: 'r2', current: false },
      ],
    });
    expect(JSON.stringify(json)).not.toMatch(/PRIVATE|"key"|"chain"/);

    const manual = await fabric(c, prefix, ['cert', 'renew', 'web']);
    expect(manual.code).toBe(1);
    expect(manual.stderr).toMatch(/FABRIC_ERR_CERT.*manual certificate.*cannot renew it/);
    const acme = await fabric(c, prefix, ['cert', 'renew', 'auto-api.example.com']);
    expect(acme.code).toBe(0);
    expect(acme.stdout).toMatch(/renewal requested \(acme\/renew\/auto-api\.example\.com\)/);
    const request = JSON.parse((await keysUnder(c, prefix)).get('acme/renew/auto-api.example.com')!.value.toString());
    expect(request).toMatchObject({ name: 'auto-api.example.com', fingerprint: record.fingerprint });
    expect((await fabric(c, prefix, ['cert', 'renew', 'nope'])).stderr).toMatch(/FABRIC_ERR_NOT_FOUND/);

    expect((await fabric(c, prefix, ['delete', 'cert', 'web'])).stdout).toBe('cert/web deleted');
    const again = await fabric(c, prefix, ['delete', 'cert', 'web']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/FABRIC_ERR_NOT_FOUND/);
    expect((await keysUnder(c, prefix)).has('certs/web')).toBe(false);
  });

  it('rekey: a key-file rotation re-encrypts every stored key with the new file; the old one is needed only until then', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    expect((await fabric(c, prefix, importArgs('one', good.chainFile, good.keyFile))).code).toBe(0);
    expect((await fabric(c, prefix, importArgs('two', good.chainFile, good.keyFile))).code).toBe(0);
    const newKey = writeTemp(dir, 'new.key', `${randomBytes(32).toString('base64')}\n`);
    const withoutOld = await fabric(c, prefix, ['cert', 'rekey', '--tls-key-file', newKey]);
    expect(withoutOld.code).toBe(1);
    expect(withoutOld.stderr).toMatch(/cert one: .*not tls.keyFile/);
    const rekeyed = await fabric(c, prefix, ['cert', 'rekey', '--tls-key-file', newKey, '--previous-key-file', keyFile]);
    expect(rekeyed.code).toBe(0);
    expect(rekeyed.stdout).toMatch(/2 re-encrypted, 0 already/);
    const fresh = createKeyring(readKeyFile(newKey));
    for (const name of ['one', 'two']) {
      const record = decodeCertRecord(`certs/${name}`, (await keysUnder(c, prefix)).get(`certs/${name}`)!.value.toString());
      expect(record.key.keyId).toBe(fresh.primary.id);
      expect(decryptKey(record.key, fresh)).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    }
    expect((await fabric(c, prefix, ['cert', 'rekey', '--tls-key-file', newKey])).stdout).toMatch(/0 re-encrypted, 2 already/);
  });
});
