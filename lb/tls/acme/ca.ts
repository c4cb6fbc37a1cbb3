import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import * as acme from 'acme-client';

/** What the CA hands back, and the key it was made for (in clear: the caller encrypts it before it goes anywhere). */
export interface Issued {
  chain: string;
  keyPem: string;
  notBefore: string;
  notAfter: string;
  issuer: string;
}

/** Where a challenge is published for every router to answer, and withdrawn. */
export interface ChallengeHooks {
  publish(token: string, keyAuthorization: string): Promise<void>;
  withdraw(token: string): Promise<void>;
}

/**
 * Trust for the CA's own HTTPS. acme-client sends every request through one shared axios
 * instance, so this is per process: one router has one `tls.acme`.
 */
export function trustCa(caBundle: string | undefined): void {
  if (caBundle) acme.axios.defaults.httpsAgent = new Agent({ ca: readFileSync(caBundle) });
}

export async function newAccountKey(): Promise<string> {
  return (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
}

/**
 * One RFC 8555 order, HTTP-01: account (created, or found by its key), order, challenges
 * published through `hooks`, finalize, download. A CA's refusal is thrown with the CA's own
 * words (acme-client's message is the problem document's detail); bad nonces are retried by
 * acme-client. Its own self-check is skipped: the CA may reach any router, and names may
 * resolve only where the CA looks them up.
 */
export async function issue(options: {
  directory: string;
  accountKeyPem: string;
  email: string | undefined;
  domains: string[];
  hooks: ChallengeHooks;
}): Promise<Issued> {
  const client = new acme.Client({
    directoryUrl: options.directory,
    accountKey: options.accountKeyPem,
    // Its defaults poll from 5 s on: most CAs validate in well under that.
    backoffAttempts: 12,
    backoffMin: 250,
    backoffMax: 10_000,
  });
  await register(client, options.email);
  const key = await acme.crypto.createPrivateEcdsaKey('P-256');
  const [, csr] = await acme.crypto.createCsr({ commonName: options.domains[0], altNames: options.domains }, key);
  const chain = await client.auto({
    csr,
    skipChallengeVerification: true,
    challengePriority: ['http-01'],
    challengeCreateFn: (_authz, challenge, keyAuthorization) => options.hooks.publish(challenge.token, keyAuthorization),
    challengeRemoveFn: (_authz, challenge) => options.hooks.withdraw(challenge.token),
  });
  const leaf = new X509Certificate(chain);
  return {
    chain,
    keyPem: key.toString(),
    notBefore: new Date(leaf.validFrom).toISOString(),
    notAfter: new Date(leaf.validTo).toISOString(),
    issuer: leaf.issuer.replace(/\n/g, ', '),
  };
}

/**
 * The shared account, found by its key, else created. Not left to auto(): for an account that
 * exists it sends `termsOfServiceAgreed` alone as an update, which a CA may refuse as empty
 * (pebble: "Use POST-as-GET to retrieve account data instead of doing an empty update").
 */
async function register(client: acme.Client, email: string | undefined): Promise<void> {
  try {
    await client.createAccount({ onlyReturnExisting: true });
  } catch {
    // accountDoesNotExist (or anything else: the real create says what)
    await client.createAccount({ termsOfServiceAgreed: true, ...(email ? { contact: [`mailto:${email}`] } : {}) });
  }
}
