import { z } from 'zod';
import { durationSchema } from '../src/duration.js';
import { domain, formatIssues, mode, pathPrefix, serviceName, version } from '../src/grammar.js';
import { tlsChoice } from '../src/tls/names.js';

/** The contract's container labels (CONTRACT.md, "Docker labels"). */
export const Label = {
  service: 'fabric.service',
  port: 'fabric.port',
  domains: 'fabric.domains',
  path: 'fabric.path',
  weight: 'fabric.weight',
  version: 'fabric.version',
  mode: 'fabric.mode',
  healthPath: 'fabric.health.path',
  healthInterval: 'fabric.health.interval',
  tls: 'fabric.tls',
} as const;

const integerText = (what: string, min: number, max: number) =>
  z.string().transform((text, ctx) => {
    const value = /^\d{1,6}$/.test(text.trim()) ? Number(text.trim()) : NaN;
    if (!(value >= min && value <= max)) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not ${what} (${min}-${max})` });
      return z.NEVER;
    }
    return value;
  });

const domainList = z
  .string()
  .transform((text) =>
    text
      .split(',')
      .map((d) => d.trim())
      .filter(Boolean),
  )
  .pipe(z.array(domain).max(64));

const labelSchema = z.object({
  [Label.service]: serviceName,
  [Label.port]: integerText('a port number', 1, 65535).optional(),
  [Label.domains]: domainList.optional(),
  [Label.path]: pathPrefix.optional(),
  [Label.weight]: integerText('a weight', 0, 256).optional(),
  [Label.version]: version.optional(),
  [Label.mode]: mode.optional(),
  [Label.healthPath]: pathPrefix.optional(),
  [Label.healthInterval]: durationSchema({ min: 100, max: 3_600_000, whole: true }).optional(),
  [Label.tls]: tlsChoice.optional(),
});

export interface ServiceLabels {
  service: string;
  port?: number;
  domains: string[];
  path?: string;
  weight: number;
  version?: string;
  mode: 'http' | 'tcp';
  check?: { path?: string; intervalMs?: number };
  /** `fabric.tls`: auto, none or a certificate name. */
  tls?: string;
}

export type LabelResult = { ok: true; labels: ServiceLabels } | { ok: false; reason: string };

export function isOptedIn(labels: Record<string, string> | undefined): boolean {
  return labels?.[Label.service] !== undefined;
}

/** Reads and validates a container's fabric labels. Call only when `isOptedIn`. */
export function readLabels(labels: Record<string, string>): LabelResult {
  const parsed = labelSchema.safeParse(labels);
  if (!parsed.success) return { ok: false, reason: `label ${formatIssues(parsed.error)}` };
  const l = parsed.data;
  const check =
    l[Label.healthPath] !== undefined || l[Label.healthInterval] !== undefined ? { path: l[Label.healthPath], intervalMs: l[Label.healthInterval] } : undefined;
  return {
    ok: true,
    labels: {
      service: l[Label.service],
      port: l[Label.port],
      domains: l[Label.domains] ?? [],
      path: l[Label.path],
      weight: l[Label.weight] ?? 100,
      version: l[Label.version],
      mode: l[Label.mode] ?? 'http',
      check,
      tls: l[Label.tls],
    },
  };
}
