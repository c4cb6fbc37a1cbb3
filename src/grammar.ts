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
/** The last segment of `endpoints/<service>/<host>/<id>`: a Docker id, or any other registrar's id (CONTRACT.md). */
export const ENDPOINT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** An endpoint id for people: a Docker id shortened to 12 like `docker ps`, any other id whole. */
export function shortEndpointId(id: string): string {
  return CONTAINER_ID.test(id) ? id.slice(0, 12) : id;
}

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
export const endpointId = z.string().regex(ENDPOINT_ID, 'must be 1-128 of A-Z a-z 0-9 _ . -, starting with a letter or digit');
export const port = z.number().int().min(1).max(65535);
export const weight = z.number().int().min(0).max(256);
/**
 * An IPv4 or IPv6 address without a zone: node's isIP takes `fe80::1%eth0`, and a `%` in a
 * config token is HAProxy's log-format and an unsafe token to the renderers (found by test/fuzz).
 */
export function isIpAddress(value: string): boolean {
  return isIP(value) !== 0 && !value.includes('%');
}

export const ipAddress = z.string().refine(isIpAddress, { message: 'is not an IP address (without a %zone)' });
export const mode = z.enum(['http', 'tcp']);

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
