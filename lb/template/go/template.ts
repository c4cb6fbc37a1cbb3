import { GoTemplateError, locate } from './errors.js';
import { execute, type TemplateSet } from './exec.js';
import { BUILTINS, type FuncMap } from './funcs.js';
import { ParseError, parse } from './parse.js';

/**
 * A parsed Go template: the file's trees, ready to run over any data and
 * any function map whose names were known when it was parsed (Go checks
 * that every function a template calls exists at parse time).
 */
export class GoTemplate {
  private constructor(private readonly set: TemplateSet) {}

  /** `name` is the template's own name (confd: the file's base name); `file` is where errors point. */
  static parse(text: string, names: { name: string; file?: string }, funcNames: ReadonlySet<string>): GoTemplate {
    const file = names.file ?? names.name;
    try {
      const trees = parse(names.name, text, (fn) => funcNames.has(fn) || BUILTINS.has(fn), file);
      return new GoTemplate({ name: names.name, file, text, trees });
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      const location = locate(file, text, err.pos);
      throw new GoTemplateError(`template: ${location}: ${err.message}`, location, { cause: err });
    }
  }

  /** Runs the template: the text, or a GoTemplateError. */
  execute(data: unknown, funcs: FuncMap): string {
    return execute(this.set, data, funcs);
  }

  /** Names of every template the file defines. */
  templates(): string[] {
    return [...this.set.trees.keys()];
  }
}
