import type { z } from 'zod';
import { FabricError } from '../errors.js';
import { formatIssues } from '../grammar.js';

/** Parses and validates one etcd value; the error names the key and every bad field. */
export function decodeJson<T extends z.ZodType>(schema: T, key: string, text: string): z.infer<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new FabricError('FABRIC_ERR_DECODE', `${key}: not JSON`, { cause });
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw new FabricError('FABRIC_ERR_DECODE', `${key}: ${formatIssues(result.error)}`);
  return result.data;
}
