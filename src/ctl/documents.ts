import { readFileSync } from 'node:fs';
import { type Document, LineCounter, parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { describeError, FabricError } from '../errors.js';
import { type RouteSpec, routeSpecSchema, type ServiceSpec, serviceSpecSchema } from '../model/service.js';

/** The kinds `fabric apply` takes, each with the schema the router decodes it with (lb/store.ts). */
export const RESOURCE_KINDS = {
  Service: { schema: serviceSpecSchema, plural: 'services' },
  Route: { schema: routeSpecSchema, plural: 'routes' },
} as const;

export type ResourceKind = keyof typeof RESOURCE_KINDS;

export type Resource = { kind: 'Service'; name: string; spec: ServiceSpec; origin: Origin } | { kind: 'Route'; name: string; spec: RouteSpec; origin: Origin };

/** Where a document came from, for error messages: `rules.yaml document 2 (Route web, line 12)`. */
export interface Origin {
  source: string;
  /** 1-based position of the document in its source. */
  index: number;
  /** 1-based line the document starts on. */
  line: number;
}

/** One problem with one document; `apply` collects all of them before refusing. */
export interface DocumentError {
  origin: Origin;
  label: string;
  field: string;
  reason: string;
  line?: number;
}

export interface Source {
  /** A file name, or `-` for stdin. */
  name: string;
  text: string;
}

export function readSources(names: string[], readStdin: () => string): Source[] {
  return names.map((name) => ({ name: name === '-' ? '<stdin>' : name, text: name === '-' ? readStdin() : readFile(name) }));
}

function readFile(name: string): string {
  try {
    return readFileSync(name, 'utf8');
  } catch (err) {
    throw new FabricError('FABRIC_ERR_SPEC', `${name}: ${describeError(err)}`, { cause: err });
  }
}

/**
 * Parses and validates every document of every source as a whole: either all
 * of them are valid (and names are unique per kind), or the FabricError lists
 * every problem found, each naming its document, field and reason.
 */
export function loadResources(sources: Source[]): Resource[] {
  const resources: Resource[] = [];
  const errors: DocumentError[] = [];
  for (const source of sources) {
    const counter = new LineCounter();
    const documents = Array.from(parseAllDocuments(source.text, { lineCounter: counter, prettyErrors: true }));
    documents.forEach((document, i) => {
      const start = document.contents?.range[0] ?? document.range[0];
      const origin: Origin = { source: source.name, index: i + 1, line: counter.linePos(start).line };
      const result = validateDocument(document, origin, counter);
      if ('resource' in result) {
        if (result.resource) resources.push(result.resource);
      } else {
        for (const error of result.errors) errors.push(error);
      }
    });
  }
  // Loops, not push(...x): a file of 100k documents must not overflow the stack.
  for (const error of duplicateErrors(resources)) errors.push(error);
  if (errors.length > 0) throw invalidDocuments(errors);
  if (resources.length === 0) throw new FabricError('FABRIC_ERR_SPEC', 'no documents to apply');
  return resources;
}

type DocumentResult = { resource: Resource | undefined } | { errors: DocumentError[] };

function validateDocument(document: Document.Parsed, origin: Origin, counter: LineCounter): DocumentResult {
  if (document.errors.length > 0) {
    return {
      errors: document.errors.map((err) => ({
        origin,
        label: 'YAML',
        field: '',
        reason: err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
        line: err.linePos?.[0].line,
      })),
    };
  }
  let value: unknown;
  try {
    value = document.toJS();
  } catch (err) {
    // yaml refuses while building the value, e.g. "Excessive alias count" for an alias bomb: a document error, not a crash.
    return { errors: [{ origin, label: 'YAML', field: '', reason: describeError(err) || 'cannot be read as a value' }] };
  }
  if (value === null || value === undefined) return { resource: undefined }; // an empty document, e.g. a trailing `---`
  const fail = (field: string, reason: string, label = 'document') => ({ errors: [{ origin, label, field, reason }] });
  if (typeof value !== 'object' || Array.isArray(value)) return fail('', 'expected a mapping with kind and name');
  const { kind, name } = value as { kind?: unknown; name?: unknown };
  const label = documentLabel(kind, name);
  if (kind === undefined) return fail('kind', `required: one of ${Object.keys(RESOURCE_KINDS).join(', ')}`, label);
  // hasOwn, not `in`: `kind: __proto__` (or constructor) is inherited by every object, and has no schema.
  if (typeof kind !== 'string' || !Object.hasOwn(RESOURCE_KINDS, kind)) {
    return fail('kind', `"${String(kind)}" is not one of ${Object.keys(RESOURCE_KINDS).join(', ')}`, label);
  }
  const schema: z.ZodType = RESOURCE_KINDS[kind as ResourceKind].schema;
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    return {
      errors: parsed.error.issues.map((issue) => ({
        origin,
        label,
        field: issue.path.map(String).join('.'),
        reason: issue.message,
        line: fieldLine(document, issue.path, counter),
      })),
    };
  }
  const spec = parsed.data as ServiceSpec & RouteSpec;
  return { resource: { kind: kind as ResourceKind, name: spec.name, spec, origin } as Resource };
}

/** `Route web`, or what there is of it: `Route`, `name web`, `document`. */
function documentLabel(kind: unknown, name: unknown): string {
  const kindText = typeof kind === 'string' ? kind : undefined;
  const nameText = typeof name === 'string' ? name : undefined;
  if (kindText && nameText) return `${kindText} ${nameText}`;
  if (nameText) return `name ${nameText}`;
  return kindText ?? 'document';
}

/** The line of the deepest node of `path` the document has (an unknown key points at its parent). */
function fieldLine(document: Document.Parsed, path: PropertyKey[], counter: LineCounter): number | undefined {
  for (let depth = path.length; depth > 0; depth--) {
    const node = document.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

function duplicateErrors(resources: Resource[]): DocumentError[] {
  const seen = new Map<string, Resource>();
  const errors: DocumentError[] = [];
  for (const resource of resources) {
    const id = `${resource.kind}/${resource.name}`;
    const first = seen.get(id);
    if (!first) {
      seen.set(id, resource);
      continue;
    }
    errors.push({
      origin: resource.origin,
      label: `${resource.kind} ${resource.name}`,
      field: 'name',
      reason: `duplicate: ${resource.kind} "${resource.name}" is already defined by ${describeOrigin(first.origin)}`,
    });
  }
  return errors;
}

export function describeOrigin(origin: Origin): string {
  return `${origin.source} document ${origin.index} (line ${origin.line})`;
}

export function formatDocumentError(error: DocumentError): string {
  const where = `${error.origin.source} document ${error.origin.index} (${error.label}, line ${error.line ?? error.origin.line})`;
  return error.field ? `${where}: ${error.field}: ${error.reason}` : `${where}: ${error.reason}`;
}

/** Problems listed in the message; the rest are counted (a generated file can have thousands). */
const LISTED_ERRORS = 100;

export function invalidDocuments(errors: DocumentError[]): FabricError {
  const documents = new Set(errors.map((e) => `${e.origin.source}#${e.origin.index}`)).size;
  const lines = errors.slice(0, LISTED_ERRORS).map((e) => `  ${formatDocumentError(e)}`);
  if (errors.length > LISTED_ERRORS) lines.push(`  … and ${errors.length - LISTED_ERRORS} more`);
  return new FabricError('FABRIC_ERR_SPEC', `${documents} invalid document${documents === 1 ? '' : 's'}, nothing applied:\n${lines.join('\n')}`, {
    details: { errors: errors.map((e) => ({ ...e.origin, kind: e.label, field: e.field, reason: e.reason, line: e.line ?? e.origin.line })) },
  });
}
