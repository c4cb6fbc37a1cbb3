import { z } from 'zod';
import { CERT_NAME } from '../../src/tls/names.js';
import { acmeConfigSchema } from './acme/config.js';

/**
 * The router config's `tls:` (docs/tls.md). Targets serve HTTPS with their own `https: HOST:PORT`;
 * this says how certificates are read and which one a host gets when nothing else says.
 */
export const tlsConfigSchema = z
  .object({
    /** base64 of 32 random bytes, the same on every router: decrypts the private keys stored in etcd. */
    keyFile: z.string().min(1).optional(),
    /** Older key files, during a rotation: they still decrypt, never encrypt (docs/tls.md). */
    previousKeyFiles: z.array(z.string().min(1)).max(8).default([]),
    /** What a host gets when its Service, Route and labels say nothing. */
    default: z.enum(['none', 'auto']).default('none'),
    /** The certificate for names without one (`certs/<name>`); without it the router makes a self-signed one. */
    defaultCert: z.string().regex(CERT_NAME, 'is not a certificate name').optional(),
    /** RFC 8555 certificates for `auto` hosts, HTTP-01 answered by every router (docs/tls-acme.md). */
    acme: acmeConfigSchema.optional(),
  })
  .strict()
  .refine((tls) => !tls.acme || tls.keyFile, { message: 'tls.acme needs tls.keyFile (it encrypts the account and certificate keys)', path: ['keyFile'] });

export type TlsConfig = z.infer<typeof tlsConfigSchema>;

export const DEFAULT_TLS_CONFIG: TlsConfig = { previousKeyFiles: [], default: 'none' };
