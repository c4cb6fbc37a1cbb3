import { z } from 'zod';
import { isDomain } from '../grammar.js';

/**
 * Certificate names and the host names a certificate covers. A certificate's domains are its
 * subjectAltName DNS entries: exact names, or wildcards (`*.example.com`: one whole leftmost label).
 */

/** `certs/<name>`: lower-case letters, digits, `.`, `_` and `-` (so `auto-www.example.com` fits), 1–128 long. */
export const CERT_NAME = /^[a-z0-9]([a-z0-9._-]{0,126}[a-z0-9])?$/;

export function isCertName(name: string): boolean {
  return CERT_NAME.test(name);
}

/** What a host asks for: `auto` (any stored certificate that covers it; ACME obtains one), `none`, or a certificate by name. */
export const tlsChoice = z.string().refine((v) => v === 'auto' || v === 'none' || CERT_NAME.test(v), {
  message: 'must be auto, none or a certificate name (lower-case letters, digits, ".", "_", "-")',
});

/** A DNS name a certificate may carry: a domain, or `*.` and a domain of at least two labels; never an IP address. */
export function isCertDomain(name: string): boolean {
  const base = name.startsWith('*.') ? name.slice(2) : name;
  // An all-digit top label is an IP address written as a name (RFC 3696), not a host name.
  return isDomain(base) && !/^\d+$/.test(base.slice(base.lastIndexOf('.') + 1));
}

/** Whether a certificate for `certDomain` is valid for `host` (RFC 6125: a wildcard stands for exactly one label). */
export function covers(certDomain: string, host: string): boolean {
  if (!certDomain.startsWith('*.')) return certDomain === host;
  const dot = host.indexOf('.');
  return dot > 0 && host.slice(dot + 1) === certDomain.slice(2);
}

/** The wildcard that would cover `host` (`a.example.com` → `*.example.com`), if any. */
export function wildcardFor(host: string): string | undefined {
  const dot = host.indexOf('.');
  return dot > 0 && host.indexOf('.', dot + 1) > 0 ? `*.${host.slice(dot + 1)}` : undefined;
}

/**
 * Node's `X509Certificate.subjectAltName` (`DNS:a.com, IP Address:10.0.0.1, DNS:"odd,name"`) as
 * `[type, value]` pairs. Values with a comma or a quote come JSON-quoted.
 */
export function parseSubjectAltName(text: string | undefined): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  if (!text) return entries;
  let rest = text;
  while (rest.length > 0) {
    const colon = rest.indexOf(':');
    if (colon < 0) break;
    const type = rest.slice(0, colon).trim();
    rest = rest.slice(colon + 1);
    let value: string;
    if (rest.startsWith('"')) {
      const end = closingQuote(rest);
      value = JSON.parse(rest.slice(0, end + 1)) as string;
      rest = rest.slice(end + 1);
    } else {
      const comma = rest.indexOf(', ');
      value = comma < 0 ? rest : rest.slice(0, comma);
      rest = comma < 0 ? '' : rest.slice(comma);
    }
    entries.push([type, value]);
    rest = rest.replace(/^,\s*/, '');
  }
  return entries;
}

function closingQuote(text: string): number {
  for (let i = 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return text.length - 1;
}
