// A throwaway certificate authority for HTTPS tests: a root, an intermediate signed by it, and server
// certificates with any names and validity, made with the openssl CLI (`openssl ca`, which takes
// explicit start and end dates, so expired certificates are real ones).
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

export interface IssuedCert {
  /** The leaf alone (PEM file). */
  certFile: string;
  keyFile: string;
  /** Leaf, then the intermediate (when it issued it): what a server presents. */
  chainFile: string;
  certPem: string;
  keyPem: string;
  chainPem: string;
}

export interface LeafOptions {
  /** Who signs it (default the intermediate). */
  issuer?: 'root' | 'intermediate';
  /** Validity (default: an hour ago to 30 days from now). */
  start?: Date;
  end?: Date;
  /** Key type (default EC P-256: generated in milliseconds). */
  key?: 'ec' | 'rsa2048' | 'rsa1024';
}

const CA_CONFIG = `[ ca ]
default_ca = CA_default
[ CA_default ]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = policy_any
copy_extensions = copy
unique_subject = no
email_in_dn = no
[ policy_any ]
commonName = supplied
[ intermediate ]
basicConstraints = critical,CA:true,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ leaf ]
basicConstraints = CA:false
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
authorityKeyIdentifier = keyid
`;

export class TestPki {
  private counter = 0;

  private constructor(
    readonly dir: string,
    /** The root certificate: what clients trust (`ca` of node:tls). */
    readonly rootFile: string,
    readonly intermediateFile: string,
  ) {}

  /** A root CA and an intermediate under `dir`. */
  static async create(dir: string): Promise<TestPki> {
    await fs.mkdir(dir, { recursive: true });
    const at = (name: string) => path.join(dir, name);
    await fs.writeFile(at('ca.cnf'), CA_CONFIG);
    await fs.writeFile(at('index.txt'), '');
    await fs.writeFile(at('serial'), '1000\n');
    await openssl(dir, [
      'req',
      '-x509',
      ...newKey('ec'),
      '-keyout',
      'root.key',
      '-out',
      'root.crt',
      '-days',
      '60',
      '-subj',
      '/CN=fabric test root',
      '-addext',
      'basicConstraints=critical,CA:true',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await openssl(dir, ['req', ...newKey('ec'), '-keyout', 'intermediate.key', '-out', 'intermediate.csr', '-subj', '/CN=fabric test intermediate']);
    await sign(dir, 'root', 'intermediate.csr', 'intermediate.crt', 'intermediate', new Date(Date.now() - 3_600_000), new Date(Date.now() + 50 * 86_400_000));
    return new TestPki(dir, at('root.crt'), at('intermediate.crt'));
  }

  /** A server certificate for `names` (`DNS:a.test`, `IP:127.0.0.1`, or a bare DNS name). */
  async leaf(names: string[], opts: LeafOptions = {}): Promise<IssuedCert> {
    const id = `leaf-${++this.counter}`;
    const at = (suffix: string) => path.join(this.dir, `${id}.${suffix}`);
    const san = names.map((n) => (/^[A-Z]+:/.test(n) ? n : `DNS:${n}`)).join(',');
    const cn = (names[0] ?? 'fabric test leaf').replace(/^[A-Z]+:/, '');
    await openssl(this.dir, [
      'req',
      ...newKey(opts.key ?? 'ec'),
      '-keyout',
      `${id}.key`,
      '-out',
      `${id}.csr`,
      '-subj',
      `/CN=${cn}`,
      '-addext',
      `subjectAltName=${san}`,
    ]);
    const issuer = opts.issuer ?? 'intermediate';
    const start = opts.start ?? new Date(Date.now() - 3_600_000);
    const end = opts.end ?? new Date(Date.now() + 30 * 86_400_000);
    await sign(this.dir, issuer, `${id}.csr`, `${id}.crt`, 'leaf', start, end);
    const certPem = await fs.readFile(at('crt'), 'utf8');
    const keyPem = await fs.readFile(at('key'), 'utf8');
    const chainPem = issuer === 'intermediate' ? `${certPem.trim()}\n${(await fs.readFile(this.intermediateFile, 'utf8')).trim()}\n` : certPem;
    await fs.writeFile(at('chain.crt'), chainPem);
    return { certFile: at('crt'), keyFile: at('key'), chainFile: at('chain.crt'), certPem, keyPem, chainPem };
  }

  async rootPem(): Promise<string> {
    return fs.readFile(this.rootFile, 'utf8');
  }

  async intermediatePem(): Promise<string> {
    return fs.readFile(this.intermediateFile, 'utf8');
  }
}

function newKey(kind: 'ec' | 'rsa2048' | 'rsa1024'): string[] {
  if (kind === 'ec') return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  return ['-newkey', kind === 'rsa2048' ? 'rsa:2048' : 'rsa:1024', '-nodes'];
}

/** `openssl ca` with explicit dates (YYYYMMDDHHMMSSZ). */
async function sign(dir: string, issuer: 'root' | 'intermediate', csr: string, out: string, extensions: string, start: Date, end: Date): Promise<void> {
  await openssl(dir, [
    'ca',
    '-batch',
    '-notext',
    '-config',
    'ca.cnf',
    '-cert',
    `${issuer}.crt`,
    '-keyfile',
    `${issuer}.key`,
    '-in',
    csr,
    '-out',
    out,
    '-extensions',
    extensions,
    '-startdate',
    asn1Time(start),
    '-enddate',
    asn1Time(end),
  ]);
}

function asn1Time(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  await execa('openssl', args, { cwd });
}
