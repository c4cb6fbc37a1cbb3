import type { z } from 'zod';
import { FabricError } from '../errors.js';
import { formatIssues } from '../grammar.js';

/** Parses and validates one etcd value; the error names the key and every bad field. */
export function decodeJson<T extends z.ZodType>(schema: T, key: string, text: string): z.infer<T> {
  return validate(schema, key, parseJson(key, text));
}

export function parseJson(key: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new FabricError('FABRIC_ERR_DECODE', `${key}: not JSON`, { cause });
  }
}

/** A parsed value through its schema; the error names the key and every bad field. */
export function validate<T extends z.ZodType>(schema: T, key: string, raw: unknown): z.infer<T> {
  const result = schema.safeParse(raw);
  if (!result.success) throw new FabricError('FABRIC_ERR_DECODE', `${key}: ${formatIssues(result.error)}`);
  return result.data;
}
