/**
 * Other writers (scripts, registrars, YAML with `field: ~`) send `null` for an optional field they
 * do not set: `null` means absent. Drops null-valued keys of an object and of the objects directly
 * inside it; deeper values are left alone, where `null` can mean something (`headers.response.X: null`
 * removes a header). Returns the input itself when it holds no such null, a copy otherwise.
 */
export function nullsAbsent(value: unknown): unknown {
  if (!isRecord(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const [key, inner] of Object.entries(value)) {
    const replaced = inner === null ? undefined : isRecord(inner) ? dropNullKeys(inner) : inner;
    if (replaced === inner) continue;
    out ??= { ...value };
    if (replaced === undefined) delete out[key];
    else out[key] = replaced;
  }
  return out ?? value;
}

function dropNullKeys(value: Record<string, unknown>): Record<string, unknown> {
  if (!Object.values(value).includes(null)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, inner]) => inner !== null));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
