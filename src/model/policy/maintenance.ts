import { z } from 'zod';

/**
 * `maintenance: {enabled, page}`: while enabled, every request of the service is answered 503 with
 * the page (text/html), endpoints or not. The page is printable ASCII, newlines and tabs, at most
 * 8 KiB, without `$` (nginx would read a variable, HAProxy an environment variable); renderers
 * escape `\`, `"`, newline and tab inside one quoted config string.
 */
export const MAINTENANCE_PAGE = /^[\x20-\x7e\n\t]{0,8192}$/;

const DEFAULT_PAGE = '<!doctype html><title>503 maintenance</title><h1>Down for maintenance</h1>\n';

export const maintenanceSchema = z
  .object({
    enabled: z.boolean(),
    page: z
      .string()
      .max(8192)
      .superRefine((page, ctx) => {
        if (/[^\x20-\x7e\n\t]/.test(page))
          ctx.addIssue({ code: 'custom', message: 'must be printable ASCII, newlines and tabs (other control characters and non-ASCII refused)' });
        else if (page.includes('$')) ctx.addIssue({ code: 'custom', message: 'must not contain $' });
      })
      .optional(),
  })
  .strict();

export type MaintenancePolicy = z.infer<typeof maintenanceSchema>;

/** The page, escaped for a double-quoted HAProxy or nginx string (both read `\\\\ \\" \\n \\t`). */
export function quotedPage(policy: MaintenancePolicy): string {
  const page = policy.page ?? DEFAULT_PAGE;
  if (!MAINTENANCE_PAGE.test(page) || page.includes('$')) throw new Error('maintenance page escaped validation');
  return `"${page.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n').replaceAll('\t', '\\t')}"`;
}
