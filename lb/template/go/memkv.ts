import { FabricError } from '../../../src/errors.js';
import { FuncError } from './errors.js';
import { BadPatternError, clean, literalPrefix, match, validPattern } from './path.js';
import { compareStrings, KVPair, typed } from './values.js';

/**
 * confd's key store (github.com/kelseyhightower/memkv) over one snapshot of
 * a resource's keys, with its exact semantics: getvs sorts the values (not
 * the keys), ls/lsdir compare path terms, a bad glob is an error only when
 * there is a key to match it against.
 */
export class MemKV {
  private readonly values = new Map<string, string>();
  /** Keys in Go's string order, for prefix scans. */
  private readonly sorted: string[];

  constructor(entries: Iterable<[string, string]>) {
    for (const [key, value] of entries) this.values.set(key, value);
    this.sorted = [...this.values.keys()].sort(compareStrings);
  }

  /** Keys starting with `prefix` ("" for all), in order. */
  private keysFrom(prefix: string): string[] {
    if (prefix === '') return this.sorted;
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareStrings(this.sorted[mid]!, prefix) < 0) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    for (let i = lo; i < this.sorted.length && this.sorted[i]!.startsWith(prefix); i++) out.push(this.sorted[i]!);
    return out;
  }

  exists(key: string): boolean {
    return this.values.has(key);
  }

  get(key: string): KVPair {
    const value = this.values.get(key);
    if (value === undefined) throw missing(key);
    return new KVPair(key, value);
  }

  getValue(key: string, defaults: string[]): string {
    const value = this.values.get(key);
    if (value !== undefined) return value;
    if (defaults.length > 0) return defaults[0]!;
    throw missing(key);
  }

  getAll(pattern: string): KVPair[] {
    const out: KVPair[] = [];
    if (this.sorted.length > 0 && !validPattern(pattern)) throw new FuncError(new BadPatternError().message);
    for (const key of this.keysFrom(literalPrefix(pattern))) if (match(pattern, key)) out.push(new KVPair(key, this.values.get(key)!));
    return typed(out, 'memkv.KVPairs');
  }

  getAllValues(pattern: string): string[] {
    return typed(
      this.getAll(pattern)
        .map((kv) => kv.Value)
        .sort(compareStrings),
      '[]string',
    );
  }

  /** memkv's List: the names one level below `dir` (and the key itself, when it is one). */
  list(dir: string): string[] {
    const names = new Set<string>();
    const prefix = terms(dir);
    const cleaned = clean(dir);
    for (const key of this.keysFrom(cleaned.startsWith('/') ? cleaned : '')) {
      if (key === dir) {
        names.add(base(key));
        continue;
      }
      if (samePrefixTerms(prefix, terms(parentDir(key)))) names.add(stripKey(key, dir).split('/')[0]!);
    }
    return typed([...names].sort(compareStrings), '[]string');
  }

  /** memkv's ListDir: the names below `dir` that have keys below them. */
  listDir(dir: string): string[] {
    const names = new Set<string>();
    const prefix = terms(dir);
    for (const key of this.keysFrom(dir)) {
      const items = terms(parentDir(key));
      if (samePrefixTerms(prefix, items) && items.length - prefix.length >= 1) names.add(items[prefix.length]!);
    }
    return typed([...names].sort(compareStrings), '[]string');
  }
}

/** memkv's KeyError ("key does not exist: /x"), as a FabricError naming the key. */
function missing(key: string): FabricError {
  return new FabricError('FABRIC_ERR_MISSING_KEY', `key does not exist: ${key}`, { details: { key } });
}

function terms(p: string): string[] {
  return clean(p).split('/');
}

function samePrefixTerms(prefix: string[], test: string[]): boolean {
  if (test.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== test[i]) return false;
  return true;
}

function stripKey(key: string, prefix: string): string {
  const rest = key.startsWith(prefix) ? key.slice(prefix.length) : key;
  return rest.startsWith('/') ? rest.slice(1) : rest;
}

/** path.Dir. */
function parentDir(p: string): string {
  return clean(p.slice(0, p.lastIndexOf('/') + 1));
}

/** path.Base. */
function base(p: string): string {
  if (p === '') return '.';
  const trimmed = p.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}
