import { join } from '../template/go/path.js';
import type { KeyValues } from '../template/kv.js';

/**
 * confd's key prefixes: a resource's `keys` are relative to its `prefix`, and
 * so are the keys its template reads (`prefix = "/app"`, `keys = ["/db"]`:
 * etcd's `/app/db/user` is `getv "/db/user"` in the template).
 */

/** `app/`, `/app`, `/app/` → `/app`; empty → `/`. */
export function normalizePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  return trimmed ? `/${trimmed}` : '/';
}

/** An etcd key (or key prefix) from a relative one; a trailing slash is kept, it narrows a prefix. */
export function absoluteKey(prefix: string, key: string): string {
  const relative = key.replace(/^\/+/, '');
  if (prefix === '/') return `/${relative}`;
  return relative ? `${prefix}/${relative}` : prefix;
}

/** confd's etcd keys for a resource: path.Join(prefix, key), so `/db/` is `/db` (and what is below it). */
export function confdOrigins(prefix: string, keys: string[]): string[] {
  return keys.map((key) => join(prefix, key));
}

/** The etcd prefixes a resource follows. */
export function watchedPrefixes(prefix: string, keys: string[]): string[] {
  return keys.map((key) => absoluteKey(prefix, key));
}

/** The keys a template sees: relative to `prefix`, each starting with `/`. */
export class PrefixedKeyValues implements KeyValues {
  constructor(
    private readonly inner: KeyValues,
    readonly prefix: string,
  ) {}

  get(key: string): string | undefined {
    return this.inner.get(absoluteKey(this.prefix, key));
  }

  list(prefix: string): Array<[string, string]> {
    const entries = this.inner.list(absoluteKey(this.prefix, prefix));
    if (this.prefix === '/') return entries;
    const out: Array<[string, string]> = [];
    for (const [key, value] of entries) {
      // `/app` must not lend its keys to `/application`.
      if (key === this.prefix) out.push(['/', value]);
      else if (key.startsWith(`${this.prefix}/`)) out.push([key.slice(this.prefix.length), value]);
    }
    return out;
  }
}

/**
 * The keys confd's etcd backend hands a resource: each of its `keys` (under
 * `prefix`) itself and what is below it as a directory — `/app/db` brings
 * `/app/db` and `/app/db/…`, never `/app/dbx` (a plain prefix watch sees
 * that one too). Go templates get exactly confd's set.
 */
export class ConfdScopedKeyValues implements KeyValues {
  private readonly origins: Array<{ key: string; dir: string }>;

  constructor(
    private readonly inner: KeyValues,
    prefix: string,
    keys: string[],
  ) {
    this.origins = confdOrigins(prefix, keys).map((key) => ({ key, dir: key.endsWith('/') ? key : `${key}/` }));
  }

  private visible(key: string): boolean {
    return this.origins.some((o) => key === o.key || key.startsWith(o.dir));
  }

  get(key: string): string | undefined {
    return this.visible(key) ? this.inner.get(key) : undefined;
  }

  list(prefix: string): Array<[string, string]> {
    return this.inner.list(prefix).filter(([key]) => this.visible(key));
  }
}

/** A Go template's view of a resource's keys: confd's set, relative to the prefix. */
export function confdKeyValues(snapshot: KeyValues, prefix: string, keys: string[]): KeyValues {
  return new PrefixedKeyValues(new ConfdScopedKeyValues(snapshot, prefix, keys), prefix);
}
