// What the golden corpus tests share: the fixed world of the Go program that made the expected
// files, and how a case is rendered (as a confd resource would render it).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { confdKeyValues, normalizePrefix } from '../../../confd/prefix.js';
import { parseResourceFile } from '../../../confd/toml.js';
import { MemoryKeyValues } from '../../kv.js';
import { fromJson } from '../confd.js';
import { compileGoTemplate, type GoSources } from '../engine.js';
import { GoTime } from '../time.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../test/fixtures/go-templates');

/** The same fixed world the Go program that made the expected files used. */
export const GOLDEN_SOURCES: GoSources = {
  getenv: (name) => ({ FABRIC_GOLDEN_HOST: 'web-1', FABRIC_GOLDEN_EMPTY: '' })[name],
  now: () => new GoTime(Date.UTC(2024, 2, 5, 14, 7, 9, 123), 123_456_789, { name: 'UTC', offset: 0 }),
  lookupIP: (name) => {
    if (/^[\d.]+$|:/.test(name)) return [name];
    return { localhost: ['127.0.0.1', '::1'], 'db.internal': ['10.0.0.12', 'fd00::11', '10.0.0.11'] }[name] ?? [];
  },
  lookupSRV: (service, proto, name) =>
    service === 'ldap' && proto === 'tcp' && name === 'example.com'
      ? [
          { target: 'ldap2.example.com.', port: 389, priority: 10, weight: 5 },
          { target: 'ldap1.example.com.', port: 389, priority: 10, weight: 20 },
          { target: 'ldap1.example.com.', port: 636, priority: 0, weight: 1 },
        ]
      : [],
  fileExists: (p) => fs.existsSync(p),
};

export function read(dir: string, file: string): string | undefined {
  const p = path.join(dir, file);
  return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : undefined;
}

/** Renders one case as a confd resource would: its keys scoped and prefixed, no data unless data.json. */
export function renderCase(dir: string): string {
  const toml = read(dir, 'resource.toml');
  const spec = toml ? parseResourceFile(path.join(dir, 'resource.toml'), toml, { templates: dir, defaultTimeoutMs: 1000 }) : undefined;
  const keys = JSON.parse(read(dir, 'keys.json') ?? '{}') as Record<string, string>;
  const kv = confdKeyValues(new MemoryKeyValues(Object.entries(keys)), spec?.prefix ?? normalizePrefix('/'), spec?.keys ?? ['/']);
  const data = read(dir, 'data.json');
  const template = compileGoTemplate(read(dir, 'template.tmpl')!, 'template.tmpl', GOLDEN_SOURCES);
  return template(data === undefined ? undefined : fromJson(data), { kv });
}
