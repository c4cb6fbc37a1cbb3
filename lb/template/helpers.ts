import type Handlebars from 'handlebars';
import { type HelperDef, toHandlebars } from './define.js';
import { keyHelpers } from './keys.js';
import { logicHelpers } from './logic.js';
import { numberHelpers } from './numbers.js';
import { resolveWithGetent, type SystemSources, systemHelpers } from './system.js';
import { textHelpers } from './text.js';

/**
 * confd's template functions as Handlebars helpers (docs/templates.md lists
 * them; docs/porting-from-confd.md maps Go templates onto them). Key helpers
 * read `options.data.kv`, so a template is called as `template(view, { kv })`.
 */
export function registerConfdHelpers(hb: typeof Handlebars, sources: Partial<SystemSources> = {}): void {
  const system: SystemSources = {
    env: sources.env ?? process.env,
    now: sources.now ?? (() => new Date()),
    resolve: sources.resolve ?? resolveWithGetent,
  };
  const defs: HelperDef[] = [...keyHelpers, ...textHelpers, ...numberHelpers, ...logicHelpers, ...systemHelpers(system)];
  for (const def of defs) hb.registerHelper(def.name, toHandlebars(def));
}
