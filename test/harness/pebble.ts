// Debian's pebble (an RFC 8555 test CA) on loopback: a generated config and self-signed HTTPS
// certificate, names resolved by our DNS responder, HTTP-01 validated against `httpPort` (a
// router's HTTP frontend). Its deliberate bad-nonce rejections stay on: clients must retry them.
import fs from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { opensslSelfSigned } from '../../src/tls/openssl.js';
import { DnsResponder } from './dns.js';
import { freePorts } from './ports.js';
import { type ManagedProcess, startProcess, waitUntilReady } from './processes.js';

export interface Pebble {
  proc: ManagedProcess;
  dns: DnsResponder;
  /** The ACME directory URL. */
  directory: string;
  /** PEM file of pebble's own HTTPS certificate (the routers' `caBundle`). */
  caBundle: string;
  managementPort: number;
  /** How many certificates pebble issued, from its log. */
  issued(): number;
  /** PEM of the root that signs issued certificates (changes on every start). */
  root(): Promise<string>;
  stop(): Promise<void>;
}

export async function startPebble(dir: string, httpPort: number, env: Record<string, string> = {}): Promise<Pebble> {
  await fs.mkdir(dir, { recursive: true });
  const cert = path.join(dir, 'pebble.crt');
  const key = path.join(dir, 'pebble.key');
  await opensslSelfSigned({ keyFile: key, certFile: cert, days: 2, subject: '/CN=127.0.0.1', subjectAltName: 'IP:127.0.0.1,DNS:localhost' });
  const [listen, management, tlsPort] = (await freePorts(3)) as [number, number, number];
  const config = path.join(dir, 'pebble-config.json');
  await fs.writeFile(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${listen}`,
        managementListenAddress: `127.0.0.1:${management}`,
        certificate: cert,
        privateKey: key,
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const dns = await DnsResponder.start();
  const proc = startProcess('pebble', ['-config', config, '-dnsserver', dns.address], { name: 'pebble', env: { PEBBLE_VA_NOSLEEP: '1', ...env } });
  const ca = await fs.readFile(cert);
  const get = (url: string) => httpsGet(url, ca);
  const directory = `https://127.0.0.1:${listen}/dir`;
  await waitUntilReady(proc, () => get(directory).then((r) => r.status === 200), { what: 'pebble directory', timeoutMs: 15_000 });
  return {
    proc,
    dns,
    directory,
    caBundle: cert,
    managementPort: management,
    issued: () => proc.lines().filter((l) => l.includes('Issued certificate')).length,
    root: async () => (await get(`https://127.0.0.1:${management}/roots/0`)).body,
    stop: async () => {
      await proc.stop('SIGTERM', 5_000);
      await dns.close();
    },
  };
}

function httpsGet(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
  });
}
