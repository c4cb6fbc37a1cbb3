import { z } from 'zod';
import { domain } from '../../../src/grammar.js';
import { encryptedKeySchema } from '../../../src/tls/cert-record.js';

const isoTime = z.string().refine((t) => Number.isFinite(Date.parse(t)), { message: 'is not a time' });

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
