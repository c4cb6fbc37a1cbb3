import type { HelperOptions } from 'handlebars';
import { FabricError } from '../../src/errors.js';

/**
 * One Handlebars helper: its positional arguments (Handlebars' trailing
 * `options` split off), checked for count before `fn` sees them.
 */
export interface HelperDef {
  name: string;
  /** Positional arguments: at least `min`, at most `max` (Infinity: variadic). */
  min: number;
  max: number;
  fn: (args: unknown[], options: HelperOptions) => unknown;
}

export function helper(name: string, min: number, max: number, fn: HelperDef['fn']): HelperDef {
  return { name, min, max, fn };
}

/** What Handlebars registers: a plain function whose last argument is `options`. */
export function toHandlebars(def: HelperDef): (...raw: unknown[]) => unknown {
  return (...raw: unknown[]) => {
    const options = raw.pop() as HelperOptions;
    if (raw.length < def.min || raw.length > def.max) {
      const wanted = def.min === def.max ? `${def.min}` : def.max === Infinity ? `at least ${def.min}` : `${def.min} to ${def.max}`;
      throw renderError(def.name, `takes ${wanted} argument${def.max === 1 ? '' : 's'}, got ${raw.length}`);
    }
    return def.fn(raw, options);
  };
}

export function renderError(helperName: string, message: string): FabricError {
  return new FabricError('FABRIC_ERR_RENDER', `${helperName}: ${message}`);
}

/** A string argument; numbers and booleans print as text (what a template author means), anything else is an error. */
export function str(helperName: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw renderError(helperName, `expected a string, got ${describe(value)}`);
}

/** An integer argument: a JS integer, or text that confd's `atoi` would accept. */
export function int(helperName: string, value: unknown): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^[+-]?\d+$/.test(value)) {
    const n = Number(value);
    if (Number.isSafeInteger(n)) return n;
  }
  throw renderError(helperName, `expected an integer, got ${describe(value)}`);
}

export function list(helperName: string, value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  throw renderError(helperName, `expected a list, got ${describe(value)}`);
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
