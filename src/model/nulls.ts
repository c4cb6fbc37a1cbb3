/**
 * Other writers (scripts, registrars, YAML with `field: ~`) send `null` for an optional field they
 * do not set: `null` means absent. Drops null-valued keys of an object and of the objects directly
 * inside it; deeper values are left alone, where `null` can mean something (`headers.response.X: null`
 * removes a header). Returns the input itself when it holds no such null, a copy otherwise.
 */
export function nullsAbsent(value: unknown): unknown {
  // The router decodes every endpoint through here: scan without allocating, copy only when needed.
  if (!isRecord(value) || !holdsNull(value, 2)) return value;
  // fromEntries, not assignment: a `__proto__` key stays a plain key.
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, inner]) => inner !== null)
      .map(([key, inner]) => [key, isRecord(inner) && holdsNull(inner, 1) ? Object.fromEntries(Object.entries(inner).filter(([, v]) => v !== null)) : inner]),
  );
}

/** Whether a null value sits in `value` (depth 1) or in an object directly inside it (depth 2). */
function holdsNull(value: Record<string, unknown>, depth: 1 | 2): boolean {
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const inner = value[key];
    if (inner === null || (depth === 2 && isRecord(inner) && holdsNull(inner, 1))) return true;
  }
  return false;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
