import { Keys } from '../src/keyspace.js';
import type { Endpoint } from '../src/model/endpoint.js';
import { uniqueEndpoints, uniqueHosts } from '../src/model/layouts.js';
import type { RouteSpec, ServiceSpec } from '../src/model/service.js';
import { staticEndpoint } from '../src/model/static-endpoint.js';
import { type Claim, type ClaimRank, resolveClaims } from './claims.js';
import type { ResolvedClaims, ServiceDerivation } from './model/derivation.js';
import { allowedEndpoints, type HostPools, hostPools, poolsSignature } from './model/endpoints.js';
import type { ModelOptions } from './model/options.js';
import type { ActiveHealth, HostRule, ModelEndpoint, ModelIssue, ServiceModel, ServiceVip } from './model/types.js';
import type { ModelMemo } from './model-memo.js';
import { rejectionIssues } from './rejections.js';
import { buildRoutes, type RouteModel } from './routes/model.js';
import { type EndpointEntry, type Entry, type GroupedKeys, type ServiceEntry, type ServiceKeys, sortedServiceKeys } from './store.js';
import { type AcmeModel, collectAcme } from './tls/acme/model-part.js';
import { buildTls, type CertEntry, type TlsInput, type TlsModel } from './tls/model.js';
import { planVips, type VipCreate, type VipHold, type VipRelease, type VipWant } from './vip/plan.js';

export type { ResolvedClaims, ServiceDerivation } from './model/derivation.js';
export type { ModelOptions } from './model/options.js';
export { servingState } from './model/serving.js';
export type { ActiveHealth, Balance, HostRule, ModelEndpoint, ModelIssue, ServiceModel, ServiceVip, ServingState } from './model/types.js';
export { ModelMemo } from './model-memo.js';
export type { RouteModel } from './routes/model.js';
export type { CertEntry, TlsHost, TlsModel, WantedHost } from './tls/model.js';

export interface Model {
  revision: number;
  services: ServiceModel[];
  routes: RouteSpec[];
  hostRules: HostRule[];
  issues: ModelIssue[];
  /** Routes with their weighted groups of endpoints (lb/routes); `routes` keeps the bare specs. */
  weightedRoutes?: RouteModel[];
  /** What the VIP allocator (lb/vip) should write to etcd for this model. */
  vips?: { create: VipCreate[]; release: VipRelease[] };
  /** Certificates and which host gets which (lb/tls/model.ts); `tls.wanted` is what ACME obtains. */
  tls?: TlsModel;
  /** ACME challenges every HTTP frontend answers, stored certificates, order states (lb/tls/acme). */
  acme?: AcmeModel;
}

/** Pure: the decoded keyspace → the services, rules and problems the targets render. */
export function buildModel(entries: Iterable<Entry>, revision: number, options: ModelOptions): Model {
  return deriveModel(groupEntries(entries), revision, options);
}

/** Pure: entries → the grouping the store keeps incrementally (generation 0: never memoized). */
export function groupEntries(entries: Iterable<Entry>): GroupedKeys {
  const services = new Map<string, { name: string; generation: number; spec: ServiceEntry | undefined; endpoints: Map<string, EndpointEntry> }>();
  const group = (name: string) => {
    let keys = services.get(name);
    if (!keys) services.set(name, (keys = { name, generation: 0, spec: undefined, endpoints: new Map() }));
    return keys;
  };
  const others: Entry[] = [];
  for (const entry of entries) {
    if (entry.kind === 'endpoint') group(entry.endpoint.service).endpoints.set(entry.key, entry);
    else if (entry.kind === 'service') group(entry.spec.name).spec = entry;
    else others.push(entry);
  }
  return { services, others };
}

/**
 * The model from the grouped keyspace. With a memo (owned by the router),
 * a service whose keys (generation) and health verdicts did not change since
 * the last build is not derived again, and domain claims are not resolved
 * again when no claim changed. The result is the same as without the memo.
 */
export function deriveModel(keys: GroupedKeys, revision: number, options: ModelOptions, memo?: ModelMemo): Model {
  const issues: ModelIssue[] = [];
  const routeEntries: Array<{ spec: RouteSpec; createRevision: number }> = [];
  const holds: VipHold[] = [];
  const hostEntries: Array<Entry & { kind: 'host' }> = [];
  const certs: CertEntry[] = [];
  // By key: the order keys arrived in (which the store does not keep for these) must not matter.
  const others = [...keys.others].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const acme = collectAcme(others, issues);
  for (const entry of others) {
    if (entry.kind === 'route') routeEntries.push({ spec: entry.spec, createRevision: entry.createRevision });
    else if (entry.kind === 'vip') holds.push({ key: entry.key, address: entry.address, service: entry.service, createRevision: entry.createRevision });
    else if (entry.kind === 'host') hostEntries.push(entry);
    else if (entry.kind === 'cert') certs.push({ name: entry.cert.name, record: entry.cert, raw: entry.raw });
    else if (entry.kind === 'invalid') issues.push({ code: 'FABRIC_ERR_DECODE', subject: entry.key, message: entry.error });
  }
  // Both key layouts of a host (an agent being upgraded): one record.
  const hosts = uniqueHosts(hostEntries);
  issues.push(...rejectionIssues(hosts));
  const pools = { byHost: hostPools(hosts), signature: '' };
  pools.signature = poolsSignature(pools.byHost);

  memo?.begin(options);
  const serviceKeys = memo ? memo.sortedServices(keys) : sortedServiceKeys(keys);
  const derived: ServiceDerivation[] = new Array(serviceKeys.length);
  const derive = (of: ServiceKeys) => deriveService(of, options, pools);
  for (let i = 0; i < serviceKeys.length; i++) {
    const derivation = memo ? memo.service(serviceKeys[i]!, i, options, pools.signature, derive) : derive(serviceKeys[i]!);
    derived[i] = derivation;
    if (derivation.issues.length > 0) issues.push(...derivation.issues);
  }
  memo?.end(keys);

  const bases = derived.map((d) => d.base);
  // Both only look at services through routes: none, nothing to do (a pass over every service saved per change).
  const weightedRoutes = routeEntries.length ? buildRoutes(routeEntries, bases) : [];
  if (routeEntries.length) for (const issue of missingBackendIssues(routeEntries, bases)) issues.push(issue);
  const routeClaims: Claim[] = weightedRoutes.map((route) => ({
    host: route.host,
    path: route.path,
    owner: { kind: 'route', name: route.name, services: [...new Set(route.groups.map((g) => g.service))] },
    rank: 'spec',
    createRevision: route.createRevision,
  }));
  const claimSets = [...derived.map((d) => d.claims), routeClaims];
  const resolved = memo?.resolved(claimSets) ?? resolveAll(claimSets);
  memo?.keepResolved(claimSets, resolved);
  const hostRules = resolved.hostRules;
  issues.push(...resolved.issues);

  const won = memo?.wonDomains(hostRules, weightedRoutes, wonDomains) ?? wonDomains(hostRules, weightedRoutes);
  const vipPlan = planVips(vipWants(bases, issues), holds, options.vipPool);
  issues.push(...vipPlan.issues);
  const services = derived.map((d) => {
    const address = vipPlan.assigned.size > 0 ? vipPlan.assigned.get(d.base.name) : undefined;
    // Made with this same won map and without a VIP: the same domains, so the same model (no lookup per service).
    if (d.final && d.finalWon === won && address === undefined && d.final.vip === undefined) return d.final;
    const domains = won.get(d.base.name) ?? [];
    const auto = options.domain && domains.length > 1 ? `${d.base.name}.${options.domain}` : undefined;
    const port = vipPort(d.base);
    const final = finalService(d, sortDomains(domains, auto), address && port ? { address, port } : undefined);
    d.finalWon = won;
    return final;
  });
  const routes = routeEntries.map((r) => r.spec).sort((a, b) => a.name.localeCompare(b.name));
  const tls = buildTls(tlsInput({ hostRules, services, routes, claimSets, certs, options: options.tls }, derived), issues);
  return {
    revision,
    services,
    routes,
    hostRules,
    issues,
    weightedRoutes,
    vips: { create: vipPlan.create, release: vipPlan.release },
    tls,
    acme,
  };
}

/**
 * Pure: one service's keys → its derivation. `pools`: each host's `--pool` (and their signature),
 * for a spec that allows only some pools.
 */
export function deriveService(
  keys: ServiceKeys,
  options: Pick<ModelOptions, 'domain' | 'health'>,
  pools: { byHost: HostPools; signature: string } = { byHost: new Map(), signature: '' },
): ServiceDerivation {
  const issues: ModelIssue[] = [];
  const name = keys.name;
  const spec = keys.spec;
  const { entries: all, statics } = withStaticEndpoints(name, spec, keys.endpoints);
  const entries = allowedEndpoints(name, spec?.spec, all, pools.byHost, statics, issues);
  const verdicts = entries.map((e) => options.health?.(e.endpoint));
  const endpoints = entries.map((e, i) => withActiveHealth(e.endpoint, verdicts[i]));
  const base = serviceModel(name, spec?.spec, endpoints, issues);
  const claims: Claim[] = [];
  const paths = base.paths.length ? base.paths : [undefined];
  const claim = (host: string, rank: ClaimRank, createRevision: number) => {
    for (const path of paths) claims.push({ host, path, owner: { kind: 'service', name, services: [name] }, rank, createRevision });
  };
  if (options.domain) claim(`${name}.${options.domain}`, 'auto', 0);
  for (const d of spec?.spec.domains ?? []) claim(d, 'spec', spec!.createRevision);
  for (const { endpoint, createRevision } of entries) for (const d of endpoint.domains) claim(d, 'label', createRevision);
  const asksTls = Boolean(spec?.spec.tls) || endpoints.some((e) => e.tls);
  const poolsRead = spec?.spec.pools ? { pools: pools.signature } : {};
  return { generation: keys.generation, domain: options.domain, entries, verdicts, base, claims, issues, asksTls, ...poolsRead };
}

/**
 * The service's endpoints, one per endpoint whichever key layout holds it, plus its spec's static
 * endpoints, each as if registered at `endpoints/<service>/static/<id>` when its spec was written
 * (a real key of that endpoint wins: uniqueEndpoints keeps the first it meets of an older-layout
 * key); in identity order. `statics`: the keys the spec added.
 */
function withStaticEndpoints(
  name: string,
  spec: ServiceEntry | undefined,
  keyed: ReadonlyMap<string, EndpointEntry>,
): { entries: EndpointEntry[]; statics: Set<string> } {
  const declared = (spec?.spec.endpoints ?? []).map((e): EndpointEntry => {
    const endpoint = staticEndpoint(name, spec!.spec.mode ?? 'http', e);
    const key = Keys.legacyEndpoint(name, endpoint.host, endpoint.container);
    return { key, raw: JSON.stringify(endpoint), createRevision: spec!.createRevision, kind: 'endpoint', endpoint };
  });
  const entries = uniqueEndpoints(declared.length === 0 ? keyed.values() : [...keyed.values(), ...declared]);
  const statics = new Set<string>();
  for (const entry of declared) if (!keyed.has(entry.key)) statics.add(entry.key);
  return { entries, statics };
}

/**
 * Service → the hosts it won (directly, or through a route that sends to it). Marks the routes
 * that won a host active: a memo that reuses the map must do the same (see ModelMemo.wonDomains).
 */
export function wonDomains(hostRules: HostRule[], weightedRoutes: RouteModel[]): Map<string, string[]> {
  const won = new Map<string, Set<string>>();
  const routes = new Map(weightedRoutes.map((r) => [r.name, r]));
  for (const rule of hostRules) {
    const route = rule.route ? routes.get(rule.route) : undefined;
    if (route) route.active = true;
    for (const service of route ? route.groups.map((g) => g.service) : [rule.service]) {
      won.set(service, (won.get(service) ?? new Set()).add(rule.host));
    }
  }
  return new Map([...won].map(([service, hosts]) => [service, [...hosts]]));
}

/** The automatic subdomain first, then by name. */
function sortDomains(domains: string[], auto: string | undefined): string[] {
  if (domains.length <= 1) return domains;
  return [...domains].sort((a, b) => (a === auto ? -1 : b === auto ? 1 : a.localeCompare(b)));
}

/**
 * buildTls's input. When nothing asks for HTTPS (no spec or label `tls`, a route's `tls`, the
 * router's default `none`, and no certificate named like a setting) every host's answer is "no
 * HTTPS" and nothing can be refused: the hosts and claims are left out, so a change does not pass
 * over every host and claim. The result is the same (the memo property test holds it).
 */
function tlsInput(input: Omit<TlsInput, 'claims'> & { claimSets: Claim[][] }, derived: ServiceDerivation[]): TlsInput {
  const { claimSets, ...rest } = input;
  const quiet =
    (input.options?.default ?? 'none') === 'none' &&
    !input.certs.some((c) => c.name === 'none') &&
    !input.routes.some((r) => r.tls) &&
    !derived.some((d) => d.asksTls);
  if (quiet) return { ...rest, hostRules: [], services: [], claims: [] };
  return { ...rest, claims: claimSets.flat() };
}

function resolveAll(claimSets: Claim[][]): ResolvedClaims {
  const issues: ModelIssue[] = [];
  const hostRules = resolveClaims(claimSets.flat(), issues);
  return { hostRules, issues };
}

/** The service's complete model: the last one again when nothing in it changed. */
function finalService(d: ServiceDerivation, domains: string[], vip: ServiceVip | undefined): ServiceModel {
  const last = d.final;
  if (last && sameStrings(last.domains, domains) && last.vip?.address === vip?.address && last.vip?.port === vip?.port) return last;
  const { name, mode, balance, paths, endpoints, spec } = d.base;
  d.final = { name, mode, balance, domains, paths, endpoints, spec, ...(vip ? { vip } : {}) };
  return d.final;
}

function sameStrings(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * A Route backend naming a service that has neither a spec nor endpoints: accepted (the service
 * may come later), reported, and its part of the route gets no traffic until then.
 */
function missingBackendIssues(routes: Array<{ spec: RouteSpec }>, services: ServiceModel[]): ModelIssue[] {
  const existing = new Set(services.filter((s) => s.spec || s.endpoints.length > 0).map((s) => s.name));
  const issues: ModelIssue[] = [];
  for (const { spec } of routes) {
    for (const service of new Set(spec.backends.map((b) => b.service))) {
      if (existing.has(service)) continue;
      issues.push({
        code: 'FABRIC_ERR_NOT_FOUND',
        subject: `routes/${spec.name}`,
        message: `backend service "${service}" does not exist (no Service spec, no endpoints); it gets no traffic until it does`,
      });
    }
  }
  return issues;
}

/**
 * Services whose spec asks for a VIP. A TCP service must name its port: without one it is
 * reported and wants nothing, so no address is held that the API would not show.
 */
function vipWants(services: ServiceModel[], issues: ModelIssue[]): VipWant[] {
  const wants: VipWant[] = [];
  for (const service of services) {
    const request = service.spec?.vip;
    if (request === undefined || request === 'none') continue;
    if (vipPort(service) === undefined) {
      issues.push({ code: 'FABRIC_ERR_SPEC', subject: `services/${service.name}`, message: 'a TCP service with a VIP needs a port' });
      continue;
    }
    wants.push({ service: service.name, request });
  }
  return wants;
}

/** The port served on a service's VIP: its spec's `port`, else 80 for HTTP. */
function vipPort(service: ServiceModel): number | undefined {
  return service.spec?.port ?? (service.mode === 'http' ? 80 : undefined);
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

function withActiveHealth(endpoint: Endpoint, activeHealth: ActiveHealth | undefined): ModelEndpoint {
  return activeHealth ? { ...endpoint, activeHealth } : endpoint;
}
