import type { ErrorCode } from '../src/errors.js';
import type { Endpoint } from '../src/model/endpoint.js';
import type { RouteSpec, ServiceSpec } from '../src/model/service.js';
import type { Entry } from './store.js';

export type Balance = 'roundrobin' | 'leastconn' | 'source';
/** What a load balancer should do with an endpoint. */
export type ServingState = 'ready' | 'drain' | 'maint';

export interface ServiceModel {
  name: string;
  mode: 'http' | 'tcp';
  balance: Balance;
  /** Domains this service won (its automatic subdomain first). */
  domains: string[];
  /** Path prefixes; empty means the whole host. */
  paths: string[];
  endpoints: Endpoint[];
  spec: ServiceSpec | undefined;
}

/** One host (+ optional path prefix) → service rule, for domain routing. */
export interface HostRule {
  host: string;
  path: string | undefined;
  service: string;
}

export interface ModelIssue {
  code: ErrorCode;
  subject: string;
  message: string;
}

export interface Model {
  revision: number;
  services: ServiceModel[];
  routes: RouteSpec[];
  hostRules: HostRule[];
  issues: ModelIssue[];
}

export interface ModelOptions {
  /** Root domain for automatic `<service>.<domain>` names. */
  domain: string | undefined;
}

/** Pure: the decoded keyspace → the services, rules and problems the targets render. */
export function buildModel(entries: Iterable<Entry>, revision: number, options: ModelOptions): Model {
  const issues: ModelIssue[] = [];
  const specs = new Map<string, { spec: ServiceSpec; createRevision: number }>();
  const endpoints = new Map<string, Array<{ endpoint: Endpoint; createRevision: number; key: string }>>();
  const routes: RouteSpec[] = [];
  for (const entry of entries) {
    switch (entry.kind) {
      case 'endpoint': {
        const list = endpoints.get(entry.endpoint.service) ?? [];
        list.push({ endpoint: entry.endpoint, createRevision: entry.createRevision, key: entry.key });
        endpoints.set(entry.endpoint.service, list);
        break;
      }
      case 'service':
        specs.set(entry.spec.name, { spec: entry.spec, createRevision: entry.createRevision });
        break;
      case 'route':
        routes.push(entry.spec);
        break;
      case 'invalid':
        issues.push({ code: 'FABRIC_ERR_DECODE', subject: entry.key, message: entry.error });
        break;
      case 'other':
        break;
    }
  }

  const claims: Claim[] = [];
  const services: ServiceModel[] = [];
  for (const name of [...new Set([...specs.keys(), ...endpoints.keys()])].sort()) {
    const spec = specs.get(name);
    const own = (endpoints.get(name) ?? []).sort((a, b) => (a.key < b.key ? -1 : 1));
    const service = serviceModel(name, spec?.spec, own.map((e) => e.endpoint), issues);
    services.push(service);
    const paths = service.paths.length ? service.paths : [undefined];
    const claim = (host: string, rank: ClaimRank, createRevision: number) => {
      for (const path of paths) claims.push({ host, path, service: name, rank, createRevision });
    };
    if (options.domain) claim(`${name}.${options.domain}`, 'auto', 0);
    for (const d of spec?.spec.domains ?? []) claim(d, 'spec', spec!.createRevision);
    for (const { endpoint, createRevision } of own) for (const d of endpoint.domains) claim(d, 'label', createRevision);
  }
  const hostRules = resolveClaims(claims, issues);
  const won = new Map<string, Set<string>>();
  for (const rule of hostRules) won.set(rule.service, (won.get(rule.service) ?? new Set()).add(rule.host));
  for (const service of services) {
    const auto = options.domain ? `${service.name}.${options.domain}` : undefined;
    service.domains = [...(won.get(service.name) ?? [])].sort((a, b) => (a === auto ? -1 : b === auto ? 1 : a.localeCompare(b)));
  }
  return { revision, services, routes: routes.sort((a, b) => a.name.localeCompare(b.name)), hostRules, issues };
}

function serviceModel(name: string, spec: ServiceSpec | undefined, endpoints: Endpoint[], issues: ModelIssue[]): ServiceModel {
  const modes = new Set(endpoints.map((e) => e.mode));
  const mode = spec?.mode ?? endpoints[0]?.mode ?? 'http';
  if (modes.size > 1 && !spec?.mode) {
    issues.push({ code: 'FABRIC_ERR_CONFLICT', subject: `services/${name}`, message: `endpoints disagree on mode; using ${mode}` });
  }
  const paths = spec?.paths ?? [...new Set(endpoints.flatMap((e) => (e.path ? [e.path] : [])))].sort();
  return { name, mode, balance: spec?.balance ?? 'roundrobin', domains: [], paths, endpoints, spec };
}

/** Spec claims outrank the automatic subdomain, which outranks container labels. */
type ClaimRank = 'spec' | 'auto' | 'label';
const RANK: Record<ClaimRank, number> = { spec: 0, auto: 1, label: 2 };

interface Claim {
  host: string;
  path: string | undefined;
  service: string;
  rank: ClaimRank;
  createRevision: number;
}

/** Each host+path goes to one service: best rank, then the oldest claim. Losers are reported. */
function resolveClaims(claims: Claim[], issues: ModelIssue[]): HostRule[] {
  const byTarget = new Map<string, Claim[]>();
  for (const claim of claims) {
    const target = `${claim.host}${claim.path ?? ''}`;
    byTarget.set(target, [...(byTarget.get(target) ?? []), claim]);
  }
  const rules: HostRule[] = [];
  for (const [target, contenders] of [...byTarget].sort(([a], [b]) => a.localeCompare(b))) {
    contenders.sort((a, b) => RANK[a.rank] - RANK[b.rank] || a.createRevision - b.createRevision || a.service.localeCompare(b.service));
    const winner = contenders[0]!;
    rules.push({ host: winner.host, path: winner.path, service: winner.service });
    for (const loser of new Set(contenders.slice(1).map((c) => c.service))) {
      if (loser === winner.service) continue;
      issues.push({
        code: 'FABRIC_ERR_CONFLICT',
        subject: `services/${loser}`,
        message: `${target} is already claimed by service ${winner.service}; claim by ${loser} refused`,
      });
    }
  }
  return rules;
}

/** How an endpoint is served: only healthy (or unchecked) endpoints that are up get new requests. */
export function servingState(endpoint: Endpoint): ServingState {
  if (endpoint.health === 'unhealthy' || endpoint.health === 'starting') return 'maint';
  return endpoint.state === 'draining' ? 'drain' : 'ready';
}
