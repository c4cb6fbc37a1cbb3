// TLS for the benchmarks: certificate records made from a test CA (test/harness/pki.ts) with the
// same functions `fabric cert import` uses, and one-shot node:tls handshakes on loopback.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { certRecord, encodeCertRecord, validateCertificate } from '../../src/tls/cert-record.js';
import { createKeyring, type Keyring, parseKey } from '../../src/tls/keyring.js';
import type { IssuedCert } from '../../test/harness/pki.js';

export interface BenchKey {
  file: string;
  keyring: Keyring;
}

/** A fresh `tls.keyFile` in `dir`. */
export function benchKey(dir: string): BenchKey {
  const text = randomBytes(32).toString('base64');
  const file = path.join(dir, 'tls.key');
  fs.writeFileSync(file, `${text}\n`, { mode: 0o600 });
  return { file, keyring: createKeyring(parseKey(text, file)) };
}

/** `certs/<name>` and its value, as `fabric cert import` writes it. */
export function certPut(name: string, cert: IssuedCert, keyring: Keyring): { key: string; value: string } {
  const valid = validateCertificate({ certPem: cert.chainPem, keyPem: cert.keyPem });
  return { key: `certs/${name}`, value: encodeCertRecord(certRecord({ name, source: 'manual', valid, keyring })) };
}

export interface HandshakeResult {
  fingerprint: string;
  reused: boolean;
  protocol: string | null;
  session: Buffer | undefined;
}

/**
 * One TLS handshake to 127.0.0.1:`port`. With `wantSession`, waits (at most 200 ms) for the
 * session the server issues after a TLS 1.3 handshake, for the next connection to resume.
 */
export function tlsHandshake(
  port: number,
  servername: string,
  opts: { session?: Buffer; wantSession?: boolean; maxVersion?: tls.SecureVersion; timeoutMs?: number } = {},
): Promise<HandshakeResult> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, session: opts.session, maxVersion: opts.maxVersion });
    let session: Buffer | undefined;
    let result: Omit<HandshakeResult, 'session'> | undefined;
    const finish = () => {
      if (!result) return;
      clearTimeout(wait);
      // A clean close (close_notify): OpenSSL drops the session of a connection cut short from its cache.
      socket.end();
      resolve({ ...result, session: session ?? socket.getSession() });
    };
    let wait: NodeJS.Timeout | undefined;
    socket.setTimeout(opts.timeoutMs ?? 5_000, () => socket.destroy(new Error(`TLS handshake with ${servername} timed out`)));
    socket.on('session', (s: Buffer) => {
      session = s;
      finish();
    });
    socket.once('secureConnect', () => {
      result = { fingerprint: socket.getPeerCertificate().fingerprint256, reused: socket.isSessionReused(), protocol: socket.getProtocol() };
      if (!opts.wantSession || session || socket.getProtocol() !== 'TLSv1.3') return finish();
      wait = setTimeout(finish, 200);
    });
    socket.once('error', reject);
  });
}
