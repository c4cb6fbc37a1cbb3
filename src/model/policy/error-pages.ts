import { z } from 'zod';
import { MAINTENANCE_PAGE, quotedPage } from './maintenance.js';

/**
 * `errorPages: {503: "<html>…", 502: …, 504: …}`: the page (text/html) of an error the proxy itself
 * answers for the service: 502 (the endpoint failed), 503 (no endpoint), 504 (it timed out). Not
 * an endpoint's own error answers. Each page has the grammar of maintenance.page (printable ASCII,
 * newlines, tabs, no `$`, at most 8 KiB).
 */
export const ERROR_PAGE_CODES = ['502', '503', '504'] as const;

const page = z
  .string()
  .min(1, 'must not be empty')
  .max(8192)
  .superRefine((text, ctx) => {
    if (/[^\x20-\x7e\n\t]/.test(text))
      ctx.addIssue({ code: 'custom', message: 'must be printable ASCII, newlines and tabs (other control characters and non-ASCII refused)' });
    else if (text.includes('$')) ctx.addIssue({ code: 'custom', message: 'must not contain $' });
  });

export const errorPagesSchema = z.record(z.string(), page).superRefine((pages, ctx) => {
  const codes = Object.keys(pages);
  if (codes.length === 0) ctx.addIssue({ code: 'custom', message: 'required: a page for at least one of 502, 503, 504' });
  for (const code of codes) {
    if (!(ERROR_PAGE_CODES as readonly string[]).includes(code))
      ctx.addIssue({ code: 'custom', path: [code], message: 'is not a status the proxy answers for a service: one of 502, 503, 504' });
  }
});

export type ErrorPagesPolicy = Record<string, string>;

/** The pages by code, each escaped for one double-quoted HAProxy or nginx string (re-checked). */
export function quotedErrorPages(pages: ErrorPagesPolicy): Array<{ code: string; quoted: string }> {
  return ERROR_PAGE_CODES.filter((code) => pages[code] !== undefined).map((code) => {
    const text = pages[code]!;
    if (!MAINTENANCE_PAGE.test(text)) throw new Error('error page escaped validation');
    return { code, quoted: quotedPage({ enabled: true, page: text }) };
  });
}
