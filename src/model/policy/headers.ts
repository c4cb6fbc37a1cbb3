import { z } from 'zod';

/**
 * `headers: {request: {Name: value | null}, response: {…}}`: set (replace) or, with null, remove.
 * Values are printable ASCII without `"`, `\` or `$` (nginx would read a variable, HAProxy an
 * environment variable), so a quoted config string holds them as they are; `%` is escaped for
 * HAProxy's log-format. CR, LF and every other control character are refused: no header can split.
 */
export const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
export const HEADER_VALUE = /^[\x21-\x7e]([\x20-\x7e]{0,1022}[\x21-\x7e])?$/;

/** Headers fabric sets itself (forwarding, framing, HSTS): a policy cannot set or remove them. */
const MANAGED_REQUEST = ['host', 'connection', 'upgrade', 'x-forwarded-for', 'x-forwarded-proto', 'x-real-ip', 'content-length', 'transfer-encoding'];
const MANAGED_RESPONSE = ['connection', 'content-length', 'transfer-encoding', 'strict-transport-security'];

const headerValue = z.string().superRefine((value, ctx) => {
  if (/\p{Cc}/u.test(value)) ctx.addIssue({ code: 'custom', message: 'must not contain control characters (CR, LF, tab, …)' });
  else if (/[^\x20-\x7e]/.test(value)) ctx.addIssue({ code: 'custom', message: 'must be printable ASCII' });
  else if (/["\\$]/.test(value)) ctx.addIssue({ code: 'custom', message: 'must not contain " \\ or $' });
  else if (!HEADER_VALUE.test(value))
    ctx.addIssue({ code: 'custom', message: 'must be 1-1024 characters without leading or trailing spaces (null removes the header)' });
});

function headerMap(managed: string[], direction: string) {
  return z.record(z.string(), z.union([headerValue, z.null()])).superRefine((map, ctx) => {
    const seen = new Set<string>();
    for (const name of Object.keys(map)) {
      const lower = name.toLowerCase();
      if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'is not a header name: A-Z a-z 0-9 and "-", 1-64 characters' });
      else if (managed.includes(lower))
        ctx.addIssue({ code: 'custom', path: [name], message: `is set by fabric on every ${direction}: a policy cannot change it` });
      else if (seen.has(lower)) ctx.addIssue({ code: 'custom', path: [name], message: 'is given twice (header names ignore case)' });
      seen.add(lower);
    }
    if (Object.keys(map).length > 64) ctx.addIssue({ code: 'custom', message: 'at most 64 headers' });
  });
}

export const headersSchema = z
  .object({ request: headerMap(MANAGED_REQUEST, 'request').optional(), response: headerMap(MANAGED_RESPONSE, 'response').optional() })
  .strict();

export type HeadersPolicy = z.infer<typeof headersSchema>;

/** The header lines of one direction, for a renderer: set `name value`, or remove `name`. */
export type HeaderChange = { name: string; value: string | null };

export function headerChanges(map: Record<string, string | null> | undefined): HeaderChange[] {
  return Object.entries(map ?? {}).map(([name, value]) => ({ name, value }));
}
