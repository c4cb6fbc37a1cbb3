import type { Gauge } from '../../src/metrics.js';
import { certSummary } from '../../src/tls/cert-record.js';
import type { Model } from '../model.js';
import type { Target } from '../target.js';
import type { CertVault } from './vault.js';

/** A certificate a router serves: on which of its targets, at which version of the stored record. */
export interface ServedCert {
  name: string;
  version: string;
  targets: string[];
}

/** What this router's targets serve now, by certificate name. */
export function servedCertificates(targets: Target[]): ServedCert[] {
  const byName = new Map<string, ServedCert>();
  for (const target of targets) {
    for (const { name, version } of target.certificates?.() ?? []) {
      const served = byName.get(name) ?? { name, version, targets: [] };
      served.targets.push(target.name);
      byName.set(name, served);
    }
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * `GET /v1/certs`: every stored certificate (what its record says, never its key or PEM), the
 * hosts the model gives it, the targets serving it and why not when it cannot be used; the hosts
 * waiting for one (`wanted`); the default certificate.
 */
export function certsView(model: Model | undefined, targets: Target[], vault: CertVault | undefined) {
  const tls = model?.tls;
  const served = new Map(servedCertificates(targets).map((s) => [s.name, s]));
  const hostsOf = new Map<string, string[]>();
  for (const host of tls?.hosts ?? []) hostsOf.set(host.cert, [...(hostsOf.get(host.cert) ?? []), host.host]);
  return {
    revision: model?.revision ?? null,
    certs: (tls?.certs ?? []).map((cert) => {
      const error = vault?.error(cert.name);
      return {
        ...certSummary(cert.record),
        hosts: hostsOf.get(cert.name) ?? [],
        servedBy: served.get(cert.name)?.targets ?? [],
        ...(error ? { error } : {}),
      };
    }),
    wanted: tls?.wanted ?? [],
    default: tls?.defaultCert ? { cert: tls.defaultCert } : { cert: null, selfSigned: true },
  };
}

/** `fabric_router_cert_expiry_timestamp_seconds{cert}`: one series per stored certificate, gone with it. */
export function observeCertExpiry(gauge: Gauge<'cert'>, model: Model): void {
  gauge.reset();
  for (const cert of model.tls?.certs ?? []) gauge.set({ cert: cert.name }, Math.floor(Date.parse(cert.record.notAfter) / 1000));
}
