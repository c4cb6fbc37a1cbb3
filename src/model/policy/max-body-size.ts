import { z } from 'zod';

/**
 * `maxBodySize: 1m`: a request body larger than this is refused with 413. Bytes, or with a `k`
 * or `m` suffix (KiB, MiB); 1 byte to 1024 MiB. Rendered as whole bytes.
 */
export const MAX_BODY_BYTES = 1024 * 1024 * 1024;

export const maxBodySizeSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const m = /^([1-9][0-9]{0,9})([km]?)$/.exec(String(value));
  if (!m) {
    ctx.addIssue({ code: 'custom', message: 'must be a size in bytes, or with k or m (such as 512k, 1m)' });
    return z.NEVER;
  }
  const bytes = Number(m[1]) * (m[2] === 'k' ? 1024 : m[2] === 'm' ? 1024 * 1024 : 1);
  if (bytes > MAX_BODY_BYTES) {
    ctx.addIssue({ code: 'custom', message: 'must be at most 1024m' });
    return z.NEVER;
  }
  return bytes;
});

/** Whole bytes for a renderer, re-checked. */
export function bodyBytes(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_BODY_BYTES) throw new Error(`maxBodySize ${value} escaped validation`);
  return value;
}
