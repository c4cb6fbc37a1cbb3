// Helpers for the HTTPS tests (tls.test.ts, nginx-tls.test.ts): a test CA (test/harness/pki.ts), a TLS
// key file, certificates imported with the real `fabric cert import`, and clients that look at what a
// load balancer presents: node:tls handshakes (subject, SAN, chain verified against the test root,
// protocol, ALPN), HTTPS and HTTP/2 GETs, backends that echo the forwarding headers they got.
import { randomBytes, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { execa } from 'execa';
import { CLI, type IssuedCert, TestPki } from '../harness/index.js';
import { listenLoopback, PREFIX, type Resources } from './support.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `fabric <args> --etcd <url> --etcd-prefix /fabric`, to completion. */
export async function fabricCli(etcdUrl: string, args: string[], input = ''): Promise<CliResult> {
  const result = await execa(process.execPath, [CLI, ...args, '--etcd', etcdUrl, '--etcd-prefix', PREFIX], {
    reject: false,
    timeout: 30_000,
    input,
    env: { NO_COLOR: '1' },
  });
  return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** A CA, a TLS key file (base64 of 32 random bytes) and the router config's `tls:` naming it. */
export class TlsFixture {
  private constructor(
    readonly pki: TestPki,
    readonly keyFile: string,
  ) {}

  static async create(res: Resources): Promise<TlsFixture> {
    const dir = res.tempDir('fabric-tls-');
    const keyFile = path.join(dir, 'tls.key');
    fs.writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    return new TlsFixture(await TestPki.create(path.join(dir, 'pki')), keyFile);
  }

  /** router.yaml's `tls:`. */
  config(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { tls: { keyFile: this.keyFile, ...extra } };
  }

  get ca(): Buffer {
    return fs.readFileSync(this.pki.rootFile);
  }

  /** Issues a certificate for `names` and imports it as `name`; fails the test unless the import succeeds. */
  async importNew(etcdUrl: string, name: string, names: string[]): Promise<IssuedCert> {
    const cert = await this.pki.leaf(names);
    await this.import(etcdUrl, name, cert);
    return cert;
  }

  async import(etcdUrl: string, name: string, cert: IssuedCert): Promise<void> {
    const result = await fabricCli(etcdUrl, ['cert', 'import', name, '--cert', cert.chainFile, '--key', cert.keyFile, '--tls-key-file', this.keyFile]);
    if (result.code !== 0) throw new Error(`fabric cert import ${name} failed: ${result.stderr}`);
  }
}

/** The SHA-256 fingerprint of a leaf, as node:tls and X509Certificate print it. */
export function fingerprintOf(cert: IssuedCert): string {
  return new X509Certificate(cert.certPem).fingerprint256;
}

export interface Handshake {
  /** The served leaf's subject CN. */
  subject: string;
  /** Its subjectAltName text (`DNS:a, DNS:b`). */
  san: string;
  fingerprint: string;
  /** Whether the chain verified against `ca` (hostname checked too). */
  authorized: boolean;
  authorizationError: string | undefined;
  protocol: string | null;
  alpn: string | false | null;
}

export interface HandshakeOptions {
  ca?: Buffer;
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
  alpn?: string[];
  timeoutMs?: number;
  session?: Buffer;
}

/** One TLS handshake to 127.0.0.1:`port` with SNI `servername`; the connection is closed after. */
export function handshake(port: number, servername: string, opts: HandshakeOptions = {}): Promise<Handshake & { session?: Buffer; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername,
      ca: opts.ca,
      rejectUnauthorized: false,
      minVersion: opts.minVersion,
      maxVersion: opts.maxVersion,
      ALPNProtocols: opts.alpn,
      session: opts.session,
    });
    let session: Buffer | undefined;
    socket.on('session', (s: Buffer) => (session = s));
    socket.setTimeout(opts.timeoutMs ?? 5_000, () => socket.destroy(new Error(`TLS handshake with ${servername} via :${port} timed out`)));
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      const hostError = tls.checkServerIdentity(servername, peer);
      const result = {
        subject: String(peer.subject?.CN ?? ''),
        san: String(peer.subjectaltname ?? ''),
        fingerprint: peer.fingerprint256,
        authorized: socket.authorized && hostError === undefined,
        authorizationError: socket.authorizationError ? String(socket.authorizationError) : hostError?.message,
        protocol: socket.getProtocol(),
        alpn: socket.alpnProtocol,
        reused: socket.isSessionReused(),
      };
      // TLS 1.3 sends its session after the handshake: wait a moment for it, then close.
      setImmediate(() => {
        socket.end();
        resolve({ ...result, session: session ?? socket.getSession() });
      });
    });
    socket.once('error', reject);
  });
}

export interface HttpsResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A GET over HTTPS (HTTP/1.1, a fresh connection) with SNI and Host `host`, the chain verified against `ca`. */
export function httpsGet(port: number, host: string, pathname: string, ca: Buffer, timeoutMs = 5_000): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: pathname, servername: host, headers: { host }, ca, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET https://${host}${pathname} via :${port} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** A GET over HTTP/2 (ALPN h2 only). */
export function h2Get(port: number, host: string, pathname: string, ca: Buffer): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://${host}:${port}`, {
      host: '127.0.0.1',
      servername: host,
      ca,
      ALPNProtocols: ['h2'],
    } as http2.SecureClientSessionOptions);
    session.on('error', reject);
    session.setTimeout(5_000, () => session.destroy(new Error('HTTP/2 GET timed out')));
    const req = session.request({ ':path': pathname, ':authority': host });
    let status = 0;
    let headers: http.IncomingHttpHeaders = {};
    let body = '';
    req.on('response', (h) => {
      status = Number(h[':status']);
      headers = h as http.IncomingHttpHeaders;
    });
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      session.close();
      resolve({ status, headers, body });
    });
    req.on('error', reject);
    req.end();
  });
}

export interface EchoServer {
  port: number;
  name: string;
}

/** Backends on 127.0.0.1 that answer JSON: their name, the path and the forwarding headers they got. */
export async function startEchoServers(res: Resources, names: string[]): Promise<EchoServer[]> {
  return Promise.all(
    names.map(async (name) => {
      const server = http.createServer((req, reply) => {
        reply.writeHead(200, { 'content-type': 'application/json' });
        reply.end(
          JSON.stringify({ name, path: req.url, proto: req.headers['x-forwarded-proto'] ?? null, forwardedFor: req.headers['x-forwarded-for'] ?? null }),
        );
      });
      return { port: await listenLoopback(res, server), name };
    }),
  );
}

/** The lines of a PEM private key's body: none of them may appear anywhere but the router's certs dir. */
export function keyLines(cert: IssuedCert): string[] {
  return cert.keyPem.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----'));
}
