import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * The strict grammars every value must pass before it can reach etcd or a
 * load-balancer config. None of them admits whitespace, quotes, `#`, `;`,
 * braces or newlines, which is what makes rendered configs injection-proof.
 */
export const SERVICE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const PATH_PREFIX = /^\/[A-Za-z0-9._~/-]{0,254}$/;
export const VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;
export const CONTAINER_ID = /^[a-f0-9]{12,64}$/;
/** A certificate's name (`certs/<name>`): lower-case letters, digits, `.` and `-` (`auto-<host>` fits). */
export const CERT_NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

export function isDomain(value: string): boolean {
  if (value.length > 253) return false;
  const labels = value.split('.');
  return labels.length >= 2 && labels.every((label) => DNS_LABEL.test(label));
}

export const serviceName = z.string().regex(SERVICE_NAME, 'must be a DNS label: a-z, 0-9 and "-", 1-63 characters');
export const domain = z
  .string()
  .transform((d) => d.toLowerCase())
  .refine(isDomain, { message: 'is not a valid domain name' });
export const pathPrefix = z.string().regex(PATH_PREFIX, 'must start with "/" and use only A-Z a-z 0-9 . _ ~ / -');
export const version = z.string().regex(VERSION, 'must be 1-63 of A-Z a-z 0-9 . _ -, starting with a letter or digit');
export const hostName = z.string().regex(HOST_NAME, 'is not a valid host name');
export const containerId = z.string().regex(CONTAINER_ID, 'is not a container id');
export const port = z.number().int().min(1).max(65535);
export const weight = z.number().int().min(0).max(256);
export const ipAddress = z.string().refine((a) => isIP(a) !== 0, { message: 'is not an IP address' });
export const mode = z.enum(['http', 'tcp']);
export const certName = z.string().regex(CERT_NAME, 'is not a certificate name: a-z, 0-9, "." and "-"');
/** Which certificate a host gets: one from ACME (`auto`), none, or a stored one by name. */
export const tlsCert = z.union([z.literal('auto'), z.literal('none'), certName]);

/** `HOST:PORT` as used by --listen and target addresses. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text.trim());
  if (!match) return undefined;
  const portNumber = Number(match[2]);
  if (portNumber < 0 || portNumber > 65535) return undefined;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port: portNumber };
}

/** Formats zod issues as `field: reason` lines, for logs and status. */
export function formatIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((issue) => {
      const field = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
      return field ? `${field}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
