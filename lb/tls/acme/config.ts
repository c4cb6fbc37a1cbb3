import { z } from 'zod';
import { durationSchema } from '../../../src/duration.js';

/** `tls.acme` in router.yaml: RFC 8555 certificates, HTTP-01 (docs/tls-acme.md). */
export const acmeConfigSchema = z
  .object({
    /** The CA's directory URL. */
    directory: z.string().url(),
    email: z.string().email().optional(),
    /** PEM file: trust for the CA's own HTTPS (a private or test CA). */
    caBundle: z.string().optional(),
    /** A failing certificate waits this long after its first failure, doubling up to `max` (every router respects it). */
    retry: z
      .object({
        min: durationSchema({ min: 100, max: 86_400_000 }).default(60_000),
        max: durationSchema({ min: 100, max: 7 * 86_400_000 }).default(86_400_000),
      })
      .strict()
      .default({ min: 60_000, max: 86_400_000 }),
    /** TTL of the lease that holds this router's order locks and challenges: how soon a dead router's lock is free. */
    lockTtl: durationSchema({ min: 2_000, max: 600_000 }).default(10_000),
  })
  .strict();

export type AcmeConfig = z.infer<typeof acmeConfigSchema>;
