import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { describeError, FabricError } from '../src/errors.js';
import { compileGoTemplate, type GoSources, systemSources } from './template/go/engine.js';
import { registerConfdHelpers } from './template/helpers.js';
import type { KeyValues } from './template/kv.js';
import type { SystemSources } from './template/system.js';

/** `data.kv`: the keys confd-style helpers read (as `@kv`). */
export type TemplateFn = (view: unknown, data?: { kv?: KeyValues }) => string;

/**
 * A Handlebars environment of its own (no global helpers): `noEscape`, since
 * configs are not HTML, and `strict`, so a missing field is an error instead
 * of an empty string in a config. It has `eq`, `ne` and confd's functions
 * (lb/template/helpers.ts; `toJson` prints a value as JSON).
 */
export function createTemplateEngine(sources: Partial<SystemSources> = {}): typeof Handlebars {
  const hb = Handlebars.create();
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('ne', (a: unknown, b: unknown) => a !== b);
  registerConfdHelpers(hb, sources);
  return hb;
}

export async function loadTemplate(engine: typeof Handlebars, path: string): Promise<TemplateFn> {
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch (err) {
    throw new FabricError('FABRIC_ERR_RENDER', `template ${path}: ${describeError(err)}`, { cause: err });
  }
  return compileTemplate(engine, source, path);
}

/** Compiles template text; `name` (its path) prefixes every error it raises. */
export function compileTemplate(engine: typeof Handlebars, source: string, name: string): TemplateFn {
  try {
    engine.parse(source); // Handlebars compiles lazily: surface a syntax error now, not at the first render.
    const compiled = engine.compile(source, { noEscape: true, strict: true });
    return (view, data) => {
      try {
        return compiled(view, { data });
      } catch (err) {
        throw renderFailure(name, err);
      }
    };
  } catch (err) {
    throw new FabricError('FABRIC_ERR_RENDER', `template ${name}: ${describeError(err)}`, { cause: err });
  }
}

/** A helper's FabricError keeps its code (a missing key stays FABRIC_ERR_MISSING_KEY); anything else is a render error. */
function renderFailure(path: string, err: unknown): FabricError {
  const code = err instanceof FabricError ? err.code : 'FABRIC_ERR_RENDER';
  const details = err instanceof FabricError ? err.details : undefined;
  return new FabricError(code, `template ${path}: ${describeError(err)}`, { cause: err, ...(details ? { details } : {}) });
}

/**
 * The two template languages, behind one interface: Handlebars (`.hbs`) and
 * Go's text/template with confd's functions (confd's `.tmpl`, and any other
 * name). Both compile a file once into a TemplateFn over (view, { kv }).
 */
export type EngineName = 'go' | 'handlebars';

export interface TemplateEngine {
  readonly name: EngineName;
  /** Compiles template text; `path` names it in every error (Go: its base name is the template's name). */
  compile(source: string, path: string): TemplateFn;
}

/** The engine a template file gets unless its config says: `.hbs` is Handlebars, anything else Go. */
export function engineForPath(path: string): EngineName {
  return path.endsWith('.hbs') ? 'handlebars' : 'go';
}

export function createEngine(name: EngineName, sources: { go?: GoSources; handlebars?: Partial<SystemSources> } = {}): TemplateEngine {
  if (name === 'go') {
    const go = sources.go ?? systemSources();
    return { name, compile: (source, path) => compileGoTemplate(source, path, go) };
  }
  const hb = createTemplateEngine(sources.handlebars);
  return { name, compile: (source, path) => compileTemplate(hb, source, path) };
}

/** Reads and compiles a template file with `engine`; an unreadable file is FABRIC_ERR_RENDER. */
export async function loadTemplateFile(engine: TemplateEngine, path: string): Promise<TemplateFn> {
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch (err) {
    throw new FabricError('FABRIC_ERR_RENDER', `template ${path}: ${describeError(err)}`, { cause: err });
  }
  return engine.compile(source, path);
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
