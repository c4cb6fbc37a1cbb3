import type { HelperOptions } from 'handlebars';
import { FabricError } from '../../src/errors.js';
import { type HelperDef, helper, renderError, str } from './define.js';
import type { KeyValues } from './kv.js';

/** What `get` and `gets` return: confd's KVPair, so `{{Key}}` / `{{Value}}` read as in Go. */
export interface KVPair {
  Key: string;
  Value: string;
}

/**
 * confd's key functions over `options.data.kv` (memkv semantics): `getv`,
 * `get`, `exists` take an exact key; `gets`, `getvs` a glob (Go's path.Match:
 * `*` and `?` stop at `/`); `ls`, `lsdir` a directory. A missing key is an
 * error naming it, unless `getv` has a default; a glob matching nothing is an
 * empty list, as in confd.
 */
export const keyHelpers: HelperDef[] = [
  helper('getv', 1, 2, ([key, fallback], options) => {
    const name = str('getv', key);
    const value = keys('getv', options).get(name);
    if (value !== undefined) return value;
    if (fallback !== undefined) return str('getv', fallback);
    throw missingKey('getv', name);
  }),
  helper('get', 1, 1, ([key], options) => {
    const name = str('get', key);
    const value = keys('get', options).get(name);
    if (value === undefined) throw missingKey('get', name);
    return { Key: name, Value: value } satisfies KVPair;
  }),
  helper('exists', 1, 1, ([key], options) => keys('exists', options).get(str('exists', key)) !== undefined),
  helper('gets', 1, 1, ([pattern], options) => matching('gets', options, str('gets', pattern))),
  helper('getvs', 1, 1, ([pattern], options) => matching('getvs', options, str('getvs', pattern)).map((kv) => kv.Value)),
  helper('ls', 1, 1, ([dir], options) => listDir(keys('ls', options), str('ls', dir), false)),
  helper('lsdir', 1, 1, ([dir], options) => listDir(keys('lsdir', options), str('lsdir', dir), true)),
];

function keys(helperName: string, options: HelperOptions): KeyValues {
  const kv = (options.data as { kv?: KeyValues } | undefined)?.kv;
  if (!kv) throw renderError(helperName, 'this template is rendered without keys (it reads no etcd keys)');
  return kv;
}

function missingKey(helperName: string, key: string): FabricError {
  return new FabricError('FABRIC_ERR_MISSING_KEY', `${helperName}: key ${JSON.stringify(key)} does not exist`, { details: { key } });
}

function matching(helperName: string, options: HelperOptions, pattern: string): KVPair[] {
  const regex = globToRegExp(helperName, pattern);
  return keys(helperName, options)
    .list(literalPrefix(pattern))
    .filter(([key]) => regex.test(key))
    .map(([Key, Value]) => ({ Key, Value }));
}

/** The part of a glob before its first wildcard: every match starts with it. */
function literalPrefix(pattern: string): string {
  const meta = pattern.search(/[*?[\\]/);
  return meta < 0 ? pattern : pattern.slice(0, meta);
}

/** Go's path.Match syntax: `*`, `?` (never crossing `/`), `[…]` classes with `^` and ranges, `\` escapes. */
export function globToRegExp(helperName: string, pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\') {
      const next = pattern[++i];
      if (next === undefined) throw renderError(helperName, `bad pattern ${JSON.stringify(pattern)}`);
      out += escapeRegExp(next);
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw renderError(helperName, `bad pattern ${JSON.stringify(pattern)}`);
      let body = pattern.slice(i + 1, end);
      const negated = body.startsWith('^');
      if (negated) body = body.slice(1);
      out += `[${negated ? '^/' : ''}${body.replace(/[\]\\^]/g, '\\$&')}]`;
      i = end;
    } else out += escapeRegExp(c);
  }
  return new RegExp(`^${out}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function terms(path: string): string[] {
  return path.split('/').filter((t) => t !== '' && t !== '.');
}

/**
 * memkv's List / ListDir: the names one level below `dir`, sorted and
 * unique; `onlyDirs` keeps those that have keys below them.
 */
function listDir(kv: KeyValues, dir: string, onlyDirs: boolean): string[] {
  const prefix = terms(dir);
  const names = new Set<string>();
  for (const [key] of kv.list(prefix.length ? `/${prefix.join('/')}` : '')) {
    const parts = terms(key);
    if (!prefix.every((t, i) => parts[i] === t)) continue; // `/ab` is not below `/a`
    const below = parts.slice(prefix.length);
    if (onlyDirs ? below.length >= 2 : below.length >= 1) names.add(below[0]!);
  }
  return [...names].sort();
}
