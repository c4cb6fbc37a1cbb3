import { z } from 'zod';
import { containerId, hostName, ipAddress } from '../grammar.js';
import { poolName } from '../tenancy/allowed.js';

/** How many rejections one host record carries; the rest are only counted (`rejectedTotal`). */
export const MAX_REJECTIONS = 100;
const MAX_REASON = 500;

/** A labelled container the agent does not register, and why (bad labels, no port, …). */
export const rejectionSchema = z.object({
  container: containerId,
  name: z.string().max(256),
  reason: z.string().max(MAX_REASON),
});

export type Rejection = z.infer<typeof rejectionSchema>;

/** How many ignored items one container's entry carries, and how long each may be. */
const MAX_IGNORED_ITEMS = 20;
const MAX_IGNORED_TEXT = 200;

/** A container registered (or refused) with `--compat`, and what of another tool's labels fabric did not understand. */
export const ignoredSchema = z.object({
  container: containerId,
  name: z.string().max(256),
  ignored: z.array(z.string().max(MAX_IGNORED_TEXT)).max(MAX_IGNORED_ITEMS),
});

export type IgnoredLabels = z.infer<typeof ignoredSchema>;

/**
 * `hosts/<host>/info` (`hosts/<host>` in the older layout): which agent runs where; lives on the agent's lease. `rejected` (and
 * `rejectedTotal` when the list is cut) lets every router show the containers the agent
 * refused; both are optional, so records of older agents still decode, and the object is
 * not strict, so older readers skip the new fields.
 */
export const hostRecordSchema = z.object({
  name: hostName,
  address: ipAddress,
  agentVersion: z.string().max(64),
  started: z.string().max(64),
  /** `--pool`: the pool this host belongs to (Service specs may allow only some pools). */
  pool: poolName.optional(),
  rejected: z.array(rejectionSchema).max(MAX_REJECTIONS).optional(),
  rejectedTotal: z.number().int().min(0).optional(),
  /** `--compat`: per container, the other tools' labels it carries that fabric did not map (at most MAX_REJECTIONS containers). */
  ignored: z.array(ignoredSchema).max(MAX_REJECTIONS).optional(),
  ignoredTotal: z.number().int().min(0).optional(),
  /** How many containers the agent registers and refuses now (newer agents; rewritten when a count changes). */
  containers: z.object({ registered: z.number().int().min(0), rejected: z.number().int().min(0) }).optional(),
});

export type HostRecord = z.infer<typeof hostRecordSchema>;

export function encodeHost(host: HostRecord): string {
  return JSON.stringify(hostRecordSchema.parse(host));
}

/** A stored host record, or undefined when it does not decode. */
export function decodeHost(raw: string): HostRecord | undefined {
  try {
    const parsed = hostRecordSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Pure: the agent's rejections as its host record carries them: in a stable order (an
 * unchanged set is an unchanged value, so no write), reasons cut to fit, at most
 * MAX_REJECTIONS of them, and the total when there were more. Nothing when there are none.
 */
export function hostRejections(rejections: Rejection[]): Pick<HostRecord, 'rejected' | 'rejectedTotal'> {
  if (rejections.length === 0) return {};
  const sorted = [...rejections].sort((a, b) => a.name.localeCompare(b.name) || a.container.localeCompare(b.container));
  const rejected = sorted.slice(0, MAX_REJECTIONS).map(({ container, name, reason }) => ({
    container,
    name: printable(name).slice(0, 256),
    reason: fitted(printable(reason)),
  }));
  return rejected.length < rejections.length ? { rejected, rejectedTotal: rejections.length } : { rejected };
}

/** A reason may quote a label's value: no control or invisible characters leave the host in it. */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

function fitted(reason: string): string {
  return reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 3)}...` : reason;
}

/** Pure: like `hostRejections`, for what `--compat` did not understand: stable order, texts cut, bounded. */
export function hostIgnored(entries: IgnoredLabels[]): Pick<HostRecord, 'ignored' | 'ignoredTotal'> {
  if (entries.length === 0) return {};
  const sorted = [...entries].sort((a, b) => a.name.localeCompare(b.name) || a.container.localeCompare(b.container));
  const ignored = sorted.slice(0, MAX_REJECTIONS).map(({ container, name, ignored: items }) => ({
    container,
    name: printable(name).slice(0, 256),
    ignored: fewer(items).map((item) => cut(printable(item), MAX_IGNORED_TEXT)),
  }));
  return ignored.length < entries.length ? { ignored, ignoredTotal: entries.length } : { ignored };
}

/** At most MAX_IGNORED_ITEMS, the last one saying how many more there were. */
function fewer(items: string[]): string[] {
  if (items.length <= MAX_IGNORED_ITEMS) return items;
  return [...items.slice(0, MAX_IGNORED_ITEMS - 1), `and ${items.length - MAX_IGNORED_ITEMS + 1} more (see the agent's /v1/endpoints)`];
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
