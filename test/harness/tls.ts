// A throwaway PKI for TLS tests: one CA, a server certificate for 127.0.0.1/localhost and a client
// certificate, all made with the openssl CLI (the same tool an operator would use).
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

export interface TlsMaterial {
  caFile: string;
  /** Server certificate and key (CN=127.0.0.1, SAN IP:127.0.0.1, DNS:localhost). */
  certFile: string;
  keyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

// EC keys are generated in milliseconds; RSA-2048 would cost a noticeable part of a test.
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function makeTls(dir: string): Promise<TlsMaterial> {
  await fs.mkdir(dir, { recursive: true });
  const file = (name: string) => path.join(dir, name);
  await openssl(['req', '-x509', ...NEW_KEY, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '30', '-subj', '/CN=fabric-test-ca']);
  // The server certificate also carries clientAuth: etcd's gRPC gateway dials etcd itself with it.
  await signedCert(dir, 'server', '/CN=127.0.0.1', ['subjectAltName=IP:127.0.0.1,DNS:localhost', 'extendedKeyUsage=serverAuth,clientAuth']);
  await signedCert(dir, 'client', '/CN=fabric-test-client', ['extendedKeyUsage=clientAuth']);
  return {
    caFile: file('ca.crt'),
    certFile: file('server.crt'),
    keyFile: file('server.key'),
    clientCertFile: file('client.crt'),
    clientKeyFile: file('client.key'),
  };
}

async function signedCert(dir: string, name: string, subject: string, extensions: string[]): Promise<void> {
  const file = (suffix: string) => path.join(dir, `${name}.${suffix}`);
  await fs.writeFile(file('ext'), `${extensions.join('\n')}\n`);
  await openssl(['req', ...NEW_KEY, '-keyout', file('key'), '-out', file('csr'), '-subj', subject]);
  await openssl([
    'x509',
    '-req',
    '-in',
    file('csr'),
    '-CA',
    path.join(dir, 'ca.crt'),
    '-CAkey',
    path.join(dir, 'ca.key'),
    '-CAcreateserial',
    '-out',
    file('crt'),
    '-days',
    '30',
    '-extfile',
    file('ext'),
  ]);
}

async function openssl(args: string[]): Promise<void> {
  await execa('openssl', args);
}
