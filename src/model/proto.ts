import { z } from 'zod';

/**
 * `proto:` of a Service (docs/routing.md, "gRPC and h2c"): what the proxy speaks to its endpoints.
 * `http1` (default) is HTTP/1.1; `h2c` is cleartext HTTP/2 with prior knowledge, which gRPC needs.
 * Only with `mode: http`: a TCP service passes bytes and speaks no protocol.
 */
export const PROTOS = ['http1', 'h2c'] as const;
export type Proto = (typeof PROTOS)[number];

export const protoSchema = z.enum(PROTOS);

/** Does this spec ask for HTTP/2 to its endpoints? */
export function speaksH2c(spec: { proto?: Proto | undefined } | undefined): boolean {
  return spec?.proto === 'h2c';
}
