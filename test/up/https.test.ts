// `fabric up --https`: a local CA under the data dir, a certificate for *.<domain> and <domain> it
// signs, stored in etcd as certs/fabric-up (key encrypted with the data dir's tls.key), the curl
// line printed. Served over HTTPS when the HAProxy target of this build terminates TLS (`https:`).
import { createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterEach, describe, expect, it } from 'vitest';
import { decryptKey } from '../../src/tls/cert-record.js';
import { loadKeyring } from '../../src/tls/keyring.js';
import { httpsGet } from '../../up/https.js';
import { waitFor } from '../harness/index.js';
import { DOMAIN, startUp, type UpProcess } from './support.js';

/** Whether this build's HAProxy target takes `https:` (the TLS termination): then fabric up serves it. */
describe('fabric up --https', () => {
  let up: UpProcess | undefined;
  let keptDir: string | undefined;
  afterEach(async () => {
    await up?.release();
    if (keptDir) fs.rmSync(keptDir, { recursive: true, force: true });
    up = keptDir = undefined;
  });

  it('makes a local CA and a wildcard certificate, stores it in etcd encrypted, prints the curl line; the same CA on the next start', async () => {
    up = await startUp();
    const caFile = path.join(up.dataDir, 'ca.pem');
    const ca = new X509Certificate(fs.readFileSync(caFile));
    expect(ca.ca).toBe(true);

    const client = new Etcd3({ hosts: up.etcd, dialTimeout: 2_000 });
    try {
      const raw = await waitFor(() => client.get('/fabric/certs/fabric-up').string(), { what: 'certs/fabric-up in etcd' });
      expect(raw).not.toContain('PRIVATE KEY');
      const record = JSON.parse(raw);
      expect(record).toMatchObject({ name: 'fabric-up', domains: [`*.${DOMAIN}`, DOMAIN], source: 'manual' });
      const leaf = new X509Certificate(record.chain);
      expect(leaf.checkIssued(ca) && leaf.verify(ca.publicKey)).toBe(true);
      expect(leaf.checkHost(`web.${DOMAIN}`)).toBe(`*.${DOMAIN}`);
      expect(leaf.checkHost(DOMAIN)).toBe(DOMAIN);
      expect(leaf.checkHost(`a.web.${DOMAIN}`)).toBeUndefined();
      const key = decryptKey(record.key, loadKeyring(path.join(up.dataDir, 'tls.key')));
      expect(leaf.checkPrivateKey(createPrivateKey(key))).toBe(true);
    } finally {
      client.close();
    }

    const out = up.proc.output();
    expect(out).toContain(`curl --cacert ${caFile} https://NAME.${DOMAIN}:${up.httpsPort}`);
    const answer = await waitFor(() => httpsGet(`127.0.0.1:${up!.httpsPort}`, `nothing.${DOMAIN}`, caFile).catch(() => undefined), {
      what: 'an HTTPS answer with the local CA',
      timeoutMs: 20_000,
    });
    expect(answer).toMatch(/^404: /); // TLS verified with the local CA; no service at that name

    // A second start keeps the CA users already trust.
    const fingerprint = ca.fingerprint256;
    keptDir = up.dataDir;
    await up.proc.stop('SIGINT', 20_000);
    up = await startUp(['--data-dir', keptDir]);
    expect(new X509Certificate(fs.readFileSync(caFile)).fingerprint256).toBe(fingerprint);
  });
});
