import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { FabricError, describeError } from '../src/errors.js';

import type { KeyValues } from './template/kv.js';

/** `data.kv`: the keys confd-style helpers read (as `@kv`). */
export type TemplateFn = (view: unknown, data?: { kv?: KeyValues }) => string;

/**
 * A Handlebars environment of its own (no global helpers): `noEscape`, since
 * configs are not HTML, and `strict`, so a missing field is an error instead
 * of an empty string in a config.
 */
export function createTemplateEngine(): typeof Handlebars {
  const hb = Handlebars.create();
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('ne', (a: unknown, b: unknown) => a !== b);
  hb.registerHelper('json', (value: unknown) => JSON.stringify(value));
  return hb;
}

export async function loadTemplate(engine: typeof Handlebars, path: string): Promise<TemplateFn> {
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch (err) {
    throw new FabricError('FABRIC_ERR_RENDER', `template ${path}: ${describeError(err)}`, { cause: err });
  }
  try {
    const compiled = engine.compile(source, { noEscape: true, strict: true });
    return (view, data) => {
      try {
        return compiled(view, { data });
      } catch (err) {
        throw new FabricError('FABRIC_ERR_RENDER', `template ${path}: ${describeError(err)}`, { cause: err });
      }
    };
  } catch (err) {
    throw new FabricError('FABRIC_ERR_RENDER', `template ${path}: ${describeError(err)}`, { cause: err });
  }
}

/** The package root: this file is `<root>/lb/render.ts` or `<root>/dist/lb/render.js`. */
export function packageRoot(): string {
  const root = dirname(dirname(fileURLToPath(import.meta.url)));
  return root.endsWith('/dist') ? dirname(root) : root;
}

/**
 * A template path from config: absolute; else relative to the working
 * directory if it exists there; else one of the package's own `templates/`.
 */
export function templatePath(path: string): string {
  if (isAbsolute(path)) return path;
  const local = resolve(path);
  return existsSync(local) ? local : join(packageRoot(), path);
}
