import { type ErrorPagesPolicy, quotedErrorPages } from '../../src/model/policy/error-pages.js';

/** errorPages → HAProxy backend lines: `http-error` replaces the page HAProxy answers itself for that status. */
export function haproxyErrorPageLines(pages: ErrorPagesPolicy | undefined): string[] {
  if (!pages) return [];
  return quotedErrorPages(pages).map(({ code, quoted }) => `http-error status ${code} content-type text/html string ${quoted}`);
}

export interface NginxErrorPages {
  /** What a location with no ready endpoint answers instead of fabric's plain 503 text. */
  unready: string | null;
  /** `error_page` lines and one internal nested location per page (for errors while proxying). */
  lines: string[];
}

/**
 * errorPages → nginx. `error_page N <location path>/.fabric-error-N` with a nested internal location
 * answering the page (nested, so it needs no server-level block; `allow all` and `auth_basic off`
 * so access control cannot refuse the error page itself). No endpoint: the location's own 503.
 */
export function nginxErrorPages(pages: ErrorPagesPolicy | undefined, locationPath: string): NginxErrorPages {
  if (!pages) return { unready: null, lines: [] };
  if (!/^\/[A-Za-z0-9._~/-]*$/.test(locationPath)) throw new Error('location path escaped validation');
  const base = locationPath.replace(/\/$/, '');
  const quoted = quotedErrorPages(pages);
  const lines = quoted.flatMap(({ code, quoted: page }) => [
    `error_page ${code} ${base}/.fabric-error-${code};`,
    `location = ${base}/.fabric-error-${code} { internal; allow all; auth_basic off; default_type text/html; return ${code} ${page}; }`,
  ]);
  const unready = quoted.find((p) => p.code === '503');
  return { unready: unready ? `default_type text/html; return 503 ${unready.quoted};` : null, lines };
}
