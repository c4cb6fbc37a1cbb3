import type { CertSummary } from '../../../src/tls/cert-record.js';
import type { Model } from '../../model.js';
import { autoCertName } from './keys.js';
import type { AcmeModel } from './model-part.js';
import { renewAt } from './schedule.js';

export type TlsDefault = 'none' | 'auto';

/** A certificate the ACME loop should order now, and why. */
export interface AcmeWant {
  name: string;
  domains: string[];
  reason: 'missing' | 'renewal due' | 'renewal asked' | 'expired';
}

/**
 * Pure: the hosts that want an ACME certificate (`tls.cert: auto` on the Service or Route
 * that won them, else the `fabric.tls` label of the service's endpoints, else the router's
 * `tls.default`) and have no valid stored certificate covering them — or whose own ACME
 * certificate is due for renewal or was asked to renew. One certificate per host, named
 * `auto-<host>`. Only hosts in the model's host rules count: a domain is ordered only for
 * the service or route that owns it.
 */
export function acmeWanted(model: Model, options: { default: TlsDefault; now: number }): AcmeWant[] {
  const acme = model.acme;
  const wants: AcmeWant[] = [];
  for (const host of autoHosts(model, options.default)) {
    const want = wantFor(host, acme, options.now);
    if (want) wants.push(want);
  }
  return wants;
}

/** Whether `name` is still wanted, decided again on fresh reads (after taking its lock). */
export function stillWanted(want: AcmeWant, acme: AcmeModel, now: number): AcmeWant | undefined {
  return want.domains.length === 1 ? wantFor(want.domains[0]!, acme, now) : undefined;
}

function wantFor(host: string, acme: AcmeModel | undefined, now: number): AcmeWant | undefined {
  const name = autoCertName(host);
  const own = acme?.certs.find((c) => c.name === name);
  if (own && covers(own, host)) {
    if (Date.parse(own.notAfter) <= now) return { name, domains: [host], reason: 'expired' };
    if (acme?.renewals.includes(name)) return { name, domains: [host], reason: 'renewal asked' };
    if (own.source === 'acme' && renewAt(own) <= now) return { name, domains: [host], reason: 'renewal due' };
    return undefined;
  }
  // Another valid certificate (imported, a wildcard) covers it: nothing to order.
  if (acme?.certs.some((c) => Date.parse(c.notAfter) > now && covers(c, host))) return undefined;
  return { name, domains: [host], reason: 'missing' };
}

/** The hosts whose owner asks for `auto`, sorted. */
function autoHosts(model: Model, tlsDefault: TlsDefault): string[] {
  const services = new Map(model.services.map((s) => [s.name, s]));
  const routes = new Map(model.routes.map((r) => [r.name, r]));
  const hosts = new Set<string>();
  for (const rule of model.hostRules) {
    let policy: string | undefined;
    if (rule.route) {
      policy = routes.get(rule.route)?.tls?.cert;
    } else {
      const service = services.get(rule.service);
      if (service?.mode !== 'http') continue;
      policy = service.spec?.tls?.cert ?? labelPolicy(service.endpoints);
    }
    if ((policy ?? tlsDefault) === 'auto') hosts.add(rule.host);
  }
  return [...hosts].sort();
}

/** The `fabric.tls` label the service's endpoints agree on; the first one (by key) when they do not. */
function labelPolicy(endpoints: Array<{ tls?: string }>): string | undefined {
  return endpoints.find((e) => e.tls !== undefined)?.tls;
}

/** A certificate's domains cover `host`: exactly, or by a wildcard one label deep. */
export function covers(cert: Pick<CertSummary, 'domains'>, host: string): boolean {
  const parent = host.slice(host.indexOf('.') + 1);
  return cert.domains.some((d) => d === host || (d.startsWith('*.') && d.slice(2) === parent));
}
