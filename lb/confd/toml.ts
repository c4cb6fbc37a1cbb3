import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { durationSchema } from '../../src/duration.js';
import { describeError, FabricError } from '../../src/errors.js';
import { formatIssues } from '../../src/grammar.js';
import { engineForPath } from '../render.js';
import { fileModeSchema } from './mode.js';
import { normalizePrefix } from './prefix.js';
import type { ResourceSpec } from './resource.js';

/**
 * Where a confdir keeps its resources and templates. confd's layout is
 * `<confdir>/conf.d/*.toml` + `<confdir>/templates/`; fabric's `confdir:` may
 * name either that confdir (it has a `conf.d/`) or the `conf.d` directory
 * itself, whose templates are then in `../templates`.
 */
export interface ConfdLayout {
  resources: string;
  templates: string;
}

export function confdLayout(confdir: string): ConfdLayout {
  if (isDirectory(join(confdir, 'conf.d'))) return { resources: join(confdir, 'conf.d'), templates: join(confdir, 'templates') };
  return { resources: confdir, templates: join(dirname(confdir), 'templates') };
}

const resourceFileSchema = z
  .object({
    template: z
      .object({
        src: z.string().min(1),
        dest: z.string().min(1),
        keys: z.array(z.string().min(1)).default([]),
        prefix: z.string().optional(),
        check_cmd: z.string().optional(),
        reload_cmd: z.string().optional(),
        mode: fileModeSchema.optional(),
        uid: z.number().int().min(0).optional(),
        gid: z.number().int().min(0).optional(),
        /** Older confd docs: user and group names. */
        owner: z.string().optional(),
        group: z.string().optional(),
        /** fabric's addition: the template language (default: `.hbs` Handlebars, anything else Go, as confd). */
        engine: z.enum(['go', 'handlebars']).optional(),
        /** fabric's addition: how long check_cmd and reload_cmd may run (default 30s). */
        command_timeout: durationSchema({ min: 100, max: 600_000 }).optional(),
      })
      .strict(),
  })
  .strict();

export interface ParseOptions {
  templates: string;
  defaultTimeoutMs: number;
}

/** One confd resource file → a ResourceSpec. Every error names the file (and the field). */
export function parseResourceFile(file: string, text: string, options: ParseOptions): ResourceSpec {
  let data: unknown;
  try {
    data = parseToml(text);
  } catch (err) {
    const where = err instanceof TomlError ? `${file}:${err.line}:${err.column}` : file;
    throw new FabricError('FABRIC_ERR_CONFIG', `${where}: ${describeError(err).split('\n')[0]}`, { cause: err });
  }
  const parsed = resourceFileSchema.safeParse(data);
  if (!parsed.success) throw new FabricError('FABRIC_ERR_CONFIG', `${file}: ${formatIssues(parsed.error)}`);
  const t = parsed.data.template;
  const template = isAbsolute(t.src) ? t.src : join(options.templates, t.src);
  return {
    origin: file,
    template,
    engine: t.engine ?? engineForPath(template),
    dest: t.dest,
    keys: t.keys,
    prefix: normalizePrefix(t.prefix),
    check: t.check_cmd,
    reload: t.reload_cmd,
    mode: t.mode,
    uid: t.uid ?? (t.owner === undefined ? undefined : lookupId(file, 'template.owner', '/etc/passwd', t.owner)),
    gid: t.gid ?? (t.group === undefined ? undefined : lookupId(file, 'template.group', '/etc/group', t.group)),
    timeoutMs: t.command_timeout ?? options.defaultTimeoutMs,
  };
}

/** A user or group name → its id, from /etc/passwd or /etc/group (`name:x:id:…`). */
function lookupId(file: string, field: string, database: string, name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  let text = '';
  try {
    text = readFileSync(database, 'utf8');
  } catch {
    // no database: reported below
  }
  const line = text.split('\n').find((l) => l.split(':')[0] === name);
  const id = line?.split(':')[2];
  if (id === undefined || !/^\d+$/.test(id)) throw new FabricError('FABRIC_ERR_CONFIG', `${file}: ${field}: no such name "${name}" in ${database}`);
  return Number(id);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
