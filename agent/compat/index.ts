import { mapNginxProxy } from './nginx-proxy.js';
import { mapRegistrator } from './registrator.js';
import { mapTraefik } from './traefik.js';
import { COMPAT_TOOLS, type CompatInput, type CompatMapper, type CompatTool } from './types.js';

export { COMPAT_TOOLS, type CompatTool } from './types.js';

const MAPPERS: Record<CompatTool, CompatMapper> = {
  'nginx-proxy': mapNginxProxy,
  registrator: mapRegistrator,
  traefik: mapTraefik,
};

/** Tools that read the container's environment: with them, a container without native labels is inspected once. */
const READS_ENV: ReadonlySet<CompatTool> = new Set(['nginx-proxy', 'registrator']);

export function readsEnvironment(tools: readonly CompatTool[]): boolean {
  return tools.some((tool) => READS_ENV.has(tool));
}

/**
 * What a container's labels say once the other tools' labels are read: the labels to validate
 * (native `fabric.*` ones on top, so they win key by key), what was not understood, or why
 * the container is refused. `undefined` labels: no tool's labels (nor native ones) on it.
 */
export type Effective = { labels: Record<string, string> | undefined; ignored: string[]; refused?: string; from?: CompatTool };

/**
 * Pure: the first enabled tool (in `--compat` order) whose labels the container carries gives the
 * base; the others' are reported as ignored. A container with `fabric.service` is read natively
 * and the tools' label keys it also carries are reported as ignored (its environment is not read).
 */
export function effectiveLabels(tools: readonly CompatTool[], input: CompatInput): Effective {
  const native = Object.fromEntries(Object.entries(input.labels).filter(([key]) => key.startsWith('fabric.')));
  if (native['fabric.service'] !== undefined) {
    // Labels only: the environment of a natively labelled container is never read (no inspect for it).
    const labelsOnly = { ...input, env: undefined };
    const shadowed = tools.filter((tool) => MAPPERS[tool](labelsOnly).kind !== 'none');
    return { labels: input.labels, ignored: shadowed.map((tool) => `${tool}: labels ignored, the native fabric.* labels win`) };
  }
  const ignored: string[] = [];
  let chosen: Effective | undefined;
  for (const tool of tools) {
    const mapping = MAPPERS[tool](input);
    if (mapping.kind === 'none') continue;
    if (chosen) {
      ignored.push(`${tool}: ignored, ${chosen.from}'s labels are read`);
      continue;
    }
    ignored.push(...mapping.ignored);
    chosen =
      mapping.kind === 'refuse'
        ? { labels: undefined, ignored, refused: mapping.reason, from: tool }
        : { labels: { ...input.labels, ...mapping.labels, ...native }, ignored, from: tool };
  }
  return chosen ?? { labels: undefined, ignored: [] };
}

/** `--compat nginx-proxy,traefik` (or a YAML list in the config file) → the tools, each once, in the order given. */
export function parseCompatList(value: unknown): CompatTool[] | string {
  const words = (Array.isArray(value) ? value.map(String) : String(value ?? '').split(','))
    .map((word) => word.trim())
    .filter((word) => word && word !== 'none');
  const unknown = words.filter((word) => !(COMPAT_TOOLS as readonly string[]).includes(word));
  if (unknown.length) return `unknown tool ${unknown.map((w) => JSON.stringify(w)).join(', ')}: expected ${COMPAT_TOOLS.join(', ')} (comma-separated) or none`;
  return [...new Set(words)] as CompatTool[];
}
