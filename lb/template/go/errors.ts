import { byteLength } from './quote.js';

/**
 * A template that does not parse, or fails while it runs: Go's message, and
 * where (the offset in the template's text, which `locate` turns into Go's
 * line:column, the column counted in bytes from 0).
 */
export class GoTemplateError extends Error {
  constructor(
    message: string,
    readonly location: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GoTemplateError';
  }
}

/** Go's ErrorContext: `name:line:col` of an offset. */
export function locate(name: string, text: string, pos: number): string {
  const before = text.slice(0, pos);
  const lastNewline = before.lastIndexOf('\n');
  let line = 1;
  for (let i = before.indexOf('\n'); i >= 0; i = before.indexOf('\n', i + 1)) line++;
  const col = byteLength(before.slice(lastNewline + 1));
  return `${name}:${line}:${col}`;
}

/** A function's own failure, as `error calling NAME: …` reports it. */
export class FuncError extends Error {}

/** Go's safeCall turns a panic into an error; so do we, for anything a function throws. */
export function describeCause(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
