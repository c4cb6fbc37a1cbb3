import { z } from 'zod';
import { CERT_NAME } from '../../src/tls/names.js';

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
  })
  .strict();

export type TlsConfig = z.infer<typeof tlsConfigSchema>;

export const DEFAULT_TLS_CONFIG: TlsConfig = { previousKeyFiles: [], default: 'none' };
