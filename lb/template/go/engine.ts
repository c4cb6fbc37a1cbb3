import { basename } from 'node:path';
import { describeError, FabricError } from '../../../src/errors.js';
import type { KeyValues } from '../kv.js';
import { CONFD_FUNCTION_NAMES, type ConfdSources, confdFuncs } from './confd.js';
import { GoTemplateError } from './errors.js';
import { MemKV } from './memkv.js';
import { join } from './path.js';
import { fileExists, lookupIP, lookupSRV } from './sources.js';
import { GoTemplate } from './template.js';
import { GoTime } from './time.js';

/** What the Go engine reads besides the keys; tests pass their own. */
export type GoSources = Omit<ConfdSources, 'store'>;

/** A compiled Go template as fabric calls it: the view as dot, the resource's keys for getv & co. */
export type GoTemplateFn = (view: unknown, data?: { kv?: KeyValues }) => string;

const started = process.hrtime.bigint();

export function systemSources(): GoSources {
  return {
    getenv: (name) => process.env[name],
    // Go's time.Now carries a monotonic reading, which {{datetime}} prints (m=+…).
    now: () => GoTime.fromDate(new Date(), undefined, Number(process.hrtime.bigint() - started)),
    lookupIP,
    lookupSRV,
    fileExists,
  };
}

/** confd's memkv store from a resource's keys (relative to its prefix): each key cleaned as confd's setVars does. */
export function storeOf(kv: KeyValues | undefined): MemKV {
  return new MemKV((kv?.list('') ?? []).map(([key, value]) => [join('/', key), value]));
}

/** Parsed templates by content: the same text is parsed once, however many resources use it. */
const parsed = new Map<string, GoTemplate>();
const MAX_CACHED = 256;

function parseCached(source: string, name: string, file: string): GoTemplate {
  const key = `${file}\0${source}`;
  let template = parsed.get(key);
  if (!template) {
    template = GoTemplate.parse(source, { name, file }, CONFD_FUNCTION_NAMES);
    if (parsed.size >= MAX_CACHED) parsed.delete(parsed.keys().next().value!);
    parsed.set(key, template);
  }
  return template;
}

/**
 * Compiles a confd (Go text/template) template; `file` names it in errors and,
 * as confd does, its base name is the template's own name. Errors are
 * FabricErrors: FABRIC_ERR_RENDER with file, line and column, or
 * FABRIC_ERR_MISSING_KEY naming the key.
 */
export function compileGoTemplate(source: string, file: string, sources: GoSources = systemSources()): GoTemplateFn {
  let template: GoTemplate;
  try {
    template = parseCached(source, basename(file), file);
  } catch (err) {
    throw asFabricError(err, file);
  }
  return (view, data) => {
    const funcs = confdFuncs({ ...sources, store: () => storeOf(data?.kv) });
    try {
      return template.execute(view, funcs);
    } catch (err) {
      throw asFabricError(err, file);
    }
  };
}

/** Go's "template: FILE:LINE:COL: …" as fabric says it, keeping a missing key's code and key. */
function asFabricError(err: unknown, path: string): unknown {
  if (err instanceof FabricError) return err;
  // Anything else (JS's own stack overflow on a runaway template, say) is still this template's failure.
  if (!(err instanceof GoTemplateError)) return new FabricError('FABRIC_ERR_RENDER', `template ${path}: ${describeError(err)}`, { cause: err });
  const message = err.message.replace(/^template: /, 'template ');
  const [, file, line, column] = /^(.*):(\d+):(\d+)$/.exec(err.location) ?? [];
  const where = file ? { file, line: Number(line), column: Number(column) } : {};
  for (let e: unknown = err.cause; e instanceof Error; e = e.cause) {
    if (e instanceof FabricError) return new FabricError(e.code, message, { cause: err, details: { ...e.details, ...where } });
  }
  return new FabricError('FABRIC_ERR_RENDER', message, { cause: err, details: where });
}
