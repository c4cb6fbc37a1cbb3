import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describeError, FabricError } from '../../src/errors.js';
import { readIfExists, writeAtomic } from '../../src/files.js';
import { opensslSelfSigned } from '../../src/tls/openssl.js';

/** What a TLS client gets for a name no certificate serves, when `tls.defaultCert` names none. */
export const SELF_SIGNED_SUBJECT = 'fabric default certificate';
const VALID_DAYS = 825;
/** Made again once it has less than this left. */
const RENEW_BEFORE_MS = 30 * 86_400_000;

/**
 * The router's own self-signed certificate, kept in `file` (0600) across restarts so clients see
 * the same one. node:crypto cannot make certificates, so the openssl CLI does (an EC P-256 key).
 */
export async function selfSignedPem(file: string, now = new Date()): Promise<string> {
  const existing = (await readIfExists(file))?.toString('utf8');
  if (existing && stillGood(existing, now)) return existing;
  const pem = await generate(dirname(file));
  await writeAtomic(file, pem, 0o600);
  return pem;
}

function stillGood(pem: string, now: Date): boolean {
  try {
    const cert = new X509Certificate(pem);
    return cert.checkPrivateKey(createPrivateKey(pem)) && new Date(cert.validTo).getTime() - now.getTime() > RENEW_BEFORE_MS;
  } catch {
    return false;
  }
}

async function generate(dir: string): Promise<string> {
  const work = await mkdtemp(join(dir, '.self-signed-'));
  try {
    const key = join(work, 'key.pem');
    const cert = join(work, 'cert.pem');
    await opensslSelfSigned({
      keyFile: key,
      certFile: cert,
      days: VALID_DAYS,
      subject: `/CN=${SELF_SIGNED_SUBJECT}`,
      subjectAltName: 'DNS:fabric-default.invalid',
    });
    return `${(await readFile(cert, 'utf8')).trim()}\n${(await readFile(key, 'utf8')).trim()}\n`;
  } catch (err) {
    throw new FabricError('FABRIC_ERR_TLS', `cannot make the self-signed default certificate (openssl): ${describeError(err)}`, { cause: err });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
