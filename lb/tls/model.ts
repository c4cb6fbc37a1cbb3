import type { ErrorCode } from '../../src/errors.js';
import type { RouteSpec, TlsSpec } from '../../src/model/service.js';
import type { CertRecord } from '../../src/tls/cert-record.js';
import { covers, wildcardFor } from '../../src/tls/names.js';
import type { Claim } from '../claims.js';
import type { HostRule, ModelIssue, ServiceModel } from '../model/types.js';

/**
 * Which host gets which certificate: pure, from the model's won host rules, the Service and Route
 * specs' `tls:`, the `fabric.tls` labels, the router's `tls.default` and the stored certificates.
 *
 * - A host's TLS follows the owner of its root (the rule without a path, else the shortest path).
 *   An owner's setting: its spec's `tls:` (a Route without one: its first backend service's), else
 *   its endpoints' `fabric.tls` label, else the router's `tls.default`.
 * - `cert: NAME` serves that certificate, if it exists and covers the host; `auto` serves any stored
 *   certificate that covers the host (an exact name before a wildcard, then the one valid longest),
 *   and lists the host in `wanted` while none does; `none` serves no HTTPS.
 * - Only hosts an owner won count (lb/claims.ts): a label cannot attach, nor obtain, a certificate
 *   for a domain another service owns. Every refusal is a model issue.
 */

/** A stored certificate as the model sees it: its record, the private key still encrypted. */
export interface CertEntry {
  name: string;
  record: CertRecord;
  /** etcd's value as stored: a target compares it to know whether the certificate changed. */
  raw: string;
}

/** One host served over HTTPS. */
export interface TlsHost {
  host: string;
  /** The certificate's name (`certs/<name>`). */
  cert: string;
  /** Whose setting it is: `services/<name>` or `routes/<name>`. */
  owner: string;
  /** Plain HTTP for this host answers 308 to https (ACME challenge paths excepted). */
  redirect: boolean;
  /** `Strict-Transport-Security: max-age=<seconds>` on its HTTPS answers. */
  hstsSeconds?: number;
}

/** A host that wants a certificate (`auto`) and has none yet: what ACME should obtain. */
export interface WantedHost {
  host: string;
  owner: string;
}

export interface TlsModel {
  /** Every stored certificate that decodes, by name. */
  certs: CertEntry[];
  /** Hosts served over HTTPS, by host name. */
  hosts: TlsHost[];
  /** `auto` hosts no stored certificate covers, by host name. */
  wanted: WantedHost[];
  /** The router's `tls.defaultCert`, when it names a stored certificate (else targets use a self-signed one). */
  defaultCert?: string;
}

export interface TlsOptions {
  /** What a host gets when nothing says: `tls.default`. */
  default: 'none' | 'auto';
  /** `tls.defaultCert`: the certificate for names without one. */
  defaultCert?: string;
}

export interface TlsInput {
  hostRules: HostRule[];
  services: ServiceModel[];
  routes: RouteSpec[];
  /** Every domain claim, won or refused: a refused claim naming a certificate is reported. */
  claims: Claim[];
  certs: CertEntry[];
  options: TlsOptions | undefined;
}

/** An owner's setting, and whether someone asked for it (spec or label) or it is the router's default. */
interface Setting {
  cert: string;
  redirect: boolean;
  hstsSeconds: number | undefined;
  explicit: boolean;
}

export function buildTls(input: TlsInput, issues: ModelIssue[]): TlsModel {
  const certs = [...input.certs].sort((a, b) => a.name.localeCompare(b.name));
  const byName = new Map(certs.map((c) => [c.name, c]));
  const index = coverageIndex(certs);
  const settings = new OwnerSettings(input, issues);
  const report = new Reports();
  const hosts: TlsHost[] = [];
  const wanted: WantedHost[] = [];
  // TCP services are not HTTP: their hosts get no certificate (the HTTPS frontend is HTTP only).
  const tcp = new Set(input.services.filter((s) => s.mode === 'tcp').map((s) => s.name));
  const httpRules = input.hostRules.filter((r) => r.route !== undefined || !tcp.has(r.service));
  for (const [host, rules] of rulesByHost(httpRules)) {
    const primary = rules[0]!;
    const owner = ownerOf(primary);
    const setting = settings.of(primary);
    for (const other of rules.slice(1)) {
      const theirs = settings.of(other);
      if (theirs.explicit && ownerOf(other) !== owner && !sameSetting(theirs, setting)) {
        report.add('FABRIC_ERR_CONFLICT', ownerOf(other), `tls of ${host} follows ${owner}, which serves its root; this setting is not used there`, host);
      }
    }
    if (setting.cert === 'none') continue;
    const cert = setting.cert === 'auto' ? bestCovering(index, host) : named(byName, setting.cert, host, owner, report);
    if (!cert) {
      if (setting.cert === 'auto') wanted.push({ host, owner });
      continue;
    }
    hosts.push({
      host,
      cert: cert.name,
      owner,
      redirect: setting.redirect,
      ...(setting.hstsSeconds !== undefined ? { hstsSeconds: setting.hstsSeconds } : {}),
    });
  }
  refusedAttachments(input, settings, byName, report);
  issues.push(...report.issues());
  const defaultCert = input.options?.defaultCert;
  if (defaultCert && !byName.has(defaultCert)) {
    issues.push({
      code: 'FABRIC_ERR_NOT_FOUND',
      subject: 'router',
      message: `tls.defaultCert ${defaultCert}: no such certificate (certs/${defaultCert}); the router's self-signed certificate is the default`,
    });
  }
  return { certs, hosts, wanted, ...(defaultCert && byName.has(defaultCert) ? { defaultCert } : {}) };
}

function ownerOf(rule: HostRule): string {
  return rule.route ? `routes/${rule.route}` : `services/${rule.service}`;
}

/** Host → its rules, the root's owner first (no path, else the shortest). */
function rulesByHost(rules: HostRule[]): Array<[string, HostRule[]]> {
  const byHost = new Map<string, HostRule[]>();
  for (const rule of rules) byHost.set(rule.host, [...(byHost.get(rule.host) ?? []), rule]);
  const depth = (r: HostRule) => (r.path === undefined ? -1 : r.path.length);
  return [...byHost]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([host, list]) => [host, [...list].sort((a, b) => depth(a) - depth(b) || (a.path ?? '').localeCompare(b.path ?? ''))]);
}

function sameSetting(a: Setting, b: Setting): boolean {
  return a.cert === b.cert && a.redirect === b.redirect && a.hstsSeconds === b.hstsSeconds;
}

/** Each owner's setting, computed once; label disagreements reported once. */
class OwnerSettings {
  private readonly services: Map<string, ServiceModel>;
  private readonly routes: Map<string, RouteSpec>;
  private readonly cache = new Map<string, Setting>();

  constructor(
    private readonly input: TlsInput,
    private readonly issues: ModelIssue[],
  ) {
    this.services = new Map(input.services.map((s) => [s.name, s]));
    this.routes = new Map(input.routes.map((r) => [r.name, r]));
  }

  of(rule: Pick<HostRule, 'service' | 'route'>): Setting {
    return rule.route ? this.route(rule.route, rule.service) : this.service(rule.service);
  }

  service(name: string): Setting {
    const key = `services/${name}`;
    let setting = this.cache.get(key);
    if (!setting) this.cache.set(key, (setting = this.serviceSetting(name)));
    return setting;
  }

  route(name: string, firstService: string): Setting {
    const key = `routes/${name}`;
    let setting = this.cache.get(key);
    if (!setting) {
      const spec = this.routes.get(name)?.tls;
      setting = spec ? fromSpec(spec) : this.service(firstService);
      this.cache.set(key, setting);
    }
    return setting;
  }

  private serviceSetting(name: string): Setting {
    const service = this.services.get(name);
    if (service?.spec?.tls) return fromSpec(service.spec.tls);
    const labels = [...new Set((service?.endpoints ?? []).flatMap((e) => (e.tls ? [e.tls] : [])))];
    if (labels.length > 1) {
      this.issues.push({
        code: 'FABRIC_ERR_CONFLICT',
        subject: `services/${name}`,
        message: `endpoints disagree on fabric.tls (${labels.join(', ')}); using ${labels[0]}`,
      });
    }
    if (labels[0]) return { cert: labels[0], redirect: false, hstsSeconds: undefined, explicit: true };
    return { cert: this.input.options?.default ?? 'none', redirect: false, hstsSeconds: undefined, explicit: false };
  }
}

function fromSpec(spec: TlsSpec): Setting {
  return {
    cert: spec.cert ?? 'auto',
    redirect: spec.redirect ?? false,
    hstsSeconds: spec.hsts === undefined ? undefined : Math.floor(spec.hsts / 1000),
    explicit: true,
  };
}

/** Certificates by the names they carry: exact names and wildcards apart. */
function coverageIndex(certs: CertEntry[]): Map<string, CertEntry[]> {
  const index = new Map<string, CertEntry[]>();
  for (const cert of certs) for (const domain of cert.record.domains) index.set(domain, [...(index.get(domain) ?? []), cert]);
  return index;
}

/** An exact name before a wildcard; then the one valid longest; then by name. */
function bestCovering(index: Map<string, CertEntry[]>, host: string): CertEntry | undefined {
  const wildcard = wildcardFor(host);
  for (const candidates of [index.get(host), wildcard ? index.get(wildcard) : undefined]) {
    if (!candidates?.length) continue;
    return [...candidates].sort((a, b) => Date.parse(b.record.notAfter) - Date.parse(a.record.notAfter) || a.name.localeCompare(b.name))[0];
  }
  return undefined;
}

function named(byName: Map<string, CertEntry>, name: string, host: string, owner: string, report: Reports): CertEntry | undefined {
  const cert = byName.get(name);
  if (!cert) {
    report.add('FABRIC_ERR_NOT_FOUND', owner, `certificate ${name} does not exist (certs/${name}); not served over HTTPS until it does`, host);
    return undefined;
  }
  if (cert.record.domains.some((d) => covers(d, host))) return cert;
  report.add('FABRIC_ERR_CERT', owner, `certificate ${name} (${cert.record.domains.join(', ')}) does not cover it; not served over HTTPS`, host);
  return undefined;
}

/**
 * A claim an owner lost, for a host its named certificate covers: the certificate is not attached
 * there (the host's owner decides its TLS), and that is said.
 */
function refusedAttachments(input: TlsInput, settings: OwnerSettings, byName: Map<string, CertEntry>, report: Reports): void {
  const winners = new Map(input.hostRules.map((r) => [`${r.host}${r.path ?? ''}`, ownerOf(r)]));
  for (const claim of input.claims) {
    const owner = `${claim.owner.kind === 'route' ? 'routes' : 'services'}/${claim.owner.name}`;
    const winner = winners.get(`${claim.host}${claim.path ?? ''}`);
    if (winner === undefined || winner === owner) continue;
    const setting = claim.owner.kind === 'route' ? settings.route(claim.owner.name, claim.owner.services[0] ?? '') : settings.service(claim.owner.name);
    const cert = byName.get(setting.cert);
    if (!cert?.record.domains.some((d) => covers(d, claim.host))) continue;
    report.add('FABRIC_ERR_CONFLICT', owner, `certificate ${cert.name} is not attached to it: the domain belongs to ${winner}`, claim.host);
  }
}

/** Issues gathered per owner and reason, each listing its hosts once. */
class Reports {
  private readonly byKey = new Map<string, { code: ErrorCode; subject: string; message: string; hosts: string[] }>();

  add(code: ErrorCode, subject: string, message: string, host: string): void {
    const key = `${code}|${subject}|${message}`;
    const entry = this.byKey.get(key) ?? { code, subject, message, hosts: [] };
    if (!entry.hosts.includes(host)) entry.hosts.push(host);
    this.byKey.set(key, entry);
  }

  issues(): ModelIssue[] {
    return [...this.byKey.values()].map(({ code, subject, message, hosts }) => ({ code, subject, message: `${hosts.join(', ')}: ${message}` }));
  }
}
