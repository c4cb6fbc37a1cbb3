import ms from 'ms';
import { z } from 'zod';

/** Parses "15s", "500ms", "2m", "180d" (or a bare number of milliseconds) into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  if (!/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/.test(trimmed)) return undefined;
  const value = ms(trimmed as ms.StringValue);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * A zod schema for a duration written as text or as milliseconds. `whole`: only whole
 * milliseconds, for values a config prints as an integer (HAProxy refuses `inter 1500.5`).
 */
export function durationSchema(bounds: { min: number; max: number; whole?: boolean }) {
  return z.union([z.string(), z.number()]).transform((raw, ctx) => {
    const value = typeof raw === 'number' ? raw : parseDuration(raw);
    if (value === undefined || value < bounds.min || value > bounds.max) {
      ctx.addIssue({
        code: 'custom',
        message: `"${String(raw)}" is not a duration between ${ms(bounds.min)} and ${ms(bounds.max)}`,
      });
      return z.NEVER;
    }
    if (bounds.whole && !Number.isInteger(value)) {
      ctx.addIssue({ code: 'custom', message: `"${String(raw)}" is not whole milliseconds` });
      return z.NEVER;
    }
    return value;
  });
}
