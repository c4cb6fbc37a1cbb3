import { Keys } from '../keyspace.js';
import { decodeJson } from '../model/codec.js';
import { RESOURCE_KINDS, type ResourceKind } from './documents.js';

/** `services/<name>` or `routes/<name>`, relative to `--etcd-prefix`. */
export function specKey(kind: ResourceKind, name: string): string {
  return kind === 'Service' ? Keys.service(name) : Keys.route(name);
}

/**
 * The value as stored: the spec as the router's schema returns it (fields in
 * schema order, durations in milliseconds, domains lower-cased), so the same
 * spec always encodes to the same bytes and re-applying it changes nothing.
 */
export function encodeSpec(spec: object): string {
  return JSON.stringify(spec);
}

/** What etcd holds, re-encoded the same way; undefined when it no longer decodes (then anything replaces it). */
export function canonicalStored(kind: ResourceKind, key: string, raw: string): string | undefined {
  try {
    return encodeSpec(decodeJson(RESOURCE_KINDS[kind].schema, key, raw) as object);
  } catch {
    return undefined;
  }
}

/** Top-level fields whose values differ, for `--dry-run`. */
export function changedFields(before: string | undefined, after: string): string[] {
  if (before === undefined) return [];
  const a = JSON.parse(before) as Record<string, unknown>;
  const b = JSON.parse(after) as Record<string, unknown>;
  const fields = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...fields].filter((field) => JSON.stringify(a[field]) !== JSON.stringify(b[field]));
}
