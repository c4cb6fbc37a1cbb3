import { FabricError } from '../../src/errors.js';
import { POLICY_PATH, type Policies } from './schema.js';

export interface NginxPolicy {
  /** A `return` that answers instead of proxying (a redirect), even with no ready endpoint. */
  answer: string | null;
  /** Before `proxy_pass`: the path rewrites. */
  rewrites: string[];
}

/**
 * A service's policies → the directives of each nginx location serving it (docs/routing.md).
 * Pure. A redirect returns before proxying; strip and add are one `rewrite … break` per case,
 * so nginx passes the rewritten URI upstream (proxy_pass has no URI part) and never searches
 * locations again. Values are re-checked against the grammar here.
 */
export function nginxPolicy(policies: Policies | undefined): NginxPolicy {
  if (!policies) return { answer: null, rewrites: [] };
  return { answer: policies.redirect ? redirectLine(policies.redirect) : null, rewrites: rewriteLines(policies) };
}

function redirectLine(redirect: NonNullable<Policies['redirect']>): string {
  const scheme = redirect.scheme ? token(redirect.scheme, /^https?$/) : '$scheme';
  const host = redirect.host ? token(redirect.host, /^[a-z0-9.-]+(:\d{1,5})?$/) : '$http_host';
  const rest = redirect.path ? path(redirect.path) : '$request_uri';
  return `return ${redirect.code ?? 302} ${scheme}://${host}${rest};`;
}

function rewriteLines({ stripPrefix, addPrefix }: Policies): string[] {
  const lines: string[] = [];
  const add = addPrefix ? path(addPrefix) : '';
  if (stripPrefix) {
    const pattern = regexLiteral(path(stripPrefix));
    lines.push(`rewrite ^${pattern}$ ${add}/ break;`);
    lines.push(`rewrite ^${pattern}(/.*)$ ${add}$1 break;`);
  }
  if (add) lines.push(`rewrite ^(.*)$ ${add}$1 break;`);
  return lines;
}

/** Path characters are literal in a PCRE except `.`. */
function regexLiteral(value: string): string {
  return value.replaceAll('.', '\\.');
}

function path(value: string): string {
  return token(value, POLICY_PATH);
}

function token(value: string, grammar: RegExp): string {
  if (!grammar.test(value)) throw new FabricError('FABRIC_ERR_RENDER', `refusing to render unsafe policy value ${JSON.stringify(value)}`);
  return value;
}
