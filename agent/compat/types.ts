/** The other tools whose labels an agent can read (`--compat`), in the order they are tried. */
export const COMPAT_TOOLS = ['nginx-proxy', 'registrator', 'traefik'] as const;
export type CompatTool = (typeof COMPAT_TOOLS)[number];

/** What a mapper reads of a container: its labels and (when it was inspected) its environment. */
export interface CompatInput {
  name: string;
  labels: Record<string, string>;
  env: Record<string, string> | undefined;
}

/**
 * A mapper's answer: nothing of its tool on the container (`none`), the container refused with a
 * reason (`refuse`), or fabric labels to read as if the container carried them (`map`), with what
 * was seen and not understood (`ignored`), never dropped in silence.
 */
export type CompatMapping =
  | { kind: 'none' }
  | { kind: 'refuse'; reason: string; ignored: string[] }
  | { kind: 'map'; labels: Record<string, string>; ignored: string[] };

export type CompatMapper = (input: CompatInput) => CompatMapping;
