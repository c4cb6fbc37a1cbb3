import { z } from 'zod';
import { domain } from '../../../src/grammar.js';

/** A value that is base64 and nothing else: no whitespace, no PEM armour (a key in clear never passes). */
const base64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'is not base64');

export const encryptedKeySchema = z.object({ keyId: z.string().regex(/^[0-9a-f]{16}$/), iv: base64, tag: base64, data: base64 }).strict();

const isoTime = z.string().refine((t) => Number.isFinite(Date.parse(t)), { message: 'is not a time' });

/**
 * `certs/<name>`: what the certificate store serves. The ACME loop reads only what it needs
 * to know whether a host is covered (extra fields of other writers are kept by them, ignored here).
 */
export const certSummarySchema = z.object({
  name: z.string(),
  domains: z.array(z.string()).max(100),
  notBefore: isoTime,
  notAfter: isoTime,
  source: z.enum(['acme', 'manual']),
});

export type CertSummary = z.infer<typeof certSummarySchema>;

/** `certs/<name>` as the ACME loop writes it. */
export interface CertRecord extends CertSummary {
  chain: string;
  key: z.infer<typeof encryptedKeySchema>;
  issuer: string;
  source: 'acme';
}

/** `acme/state/<name>`: the last attempt, and when the next may start (every router reads it). */
export const acmeStateSchema = z
  .object({
    name: z.string(),
    domains: z.array(domain).max(100),
    /** Failed attempts since the last success. */
    failures: z.number().int().min(0),
    lastAttemptAt: isoTime,
    /** No router orders this certificate before then. */
    nextAttemptAt: isoTime.optional(),
    /** The CA's own message (or ours when the CA was not reached). */
    lastError: z.string().max(2_000).optional(),
    lastIssuedAt: isoTime.optional(),
    routerId: z.string().optional(),
  })
  .strict();

export type AcmeState = z.infer<typeof acmeStateSchema>;

/** `acme/account`: one account per directory, shared by every router; its key encrypted. */
export const accountSchema = z.object({ directory: z.string().url(), email: z.string().optional(), key: encryptedKeySchema }).strict();

export type AccountRecord = z.infer<typeof accountSchema>;

/** `acme/locks/<name>`: the router ordering it now. */
export const lockSchema = z.object({ routerId: z.string(), since: isoTime }).strict();
