import type { ErrorCode } from '../src/errors.js';
import type { Endpoint } from '../src/model/endpoint.js';
import type { RouteSpec, ServiceSpec } from '../src/model/service.js';
import { resolveClaims, type Claim, type ClaimOwner, type ClaimRank } from './claims.js';
import { buildRoutes, type RouteModel } from './routes/model.js';
import type { Entry } from './store.js';
import { planVips, type VipCreate, type VipHold, type VipRelease, type VipWant } from './vip/plan.js';
import type { VipPool } from './vip/pool.js';

export type { RouteModel } from './routes/model.js';

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
  endpoints: ModelEndpoint[];
  spec: ServiceSpec | undefined;
  /** The VIP this service holds (`vips/<address>`) and the port served on it; absent without one. */
  vip?: ServiceVip;
}

export interface ServiceVip {
  address: string;
  port: number;
}

/** The active health check's verdict on an endpoint (lb/health); absent until it has one. */
export type ActiveHealth = 'healthy' | 'unhealthy';
/** An endpoint as the agent wrote it, plus the router's own check result. */
export type ModelEndpoint = Endpoint & { activeHealth?: ActiveHealth };

/** One host (+ optional path prefix) → service rule, for domain routing. */
export interface HostRule {
  host: string;
  path: string | undefined;
  service: string;
  /** Set when a Route won this host (+ path): traffic goes to its weighted backend; `service` is its first backend's. */
  route?: string;
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
  /** Routes with their weighted groups of endpoints (lb/routes); `routes` keeps the bare specs. */
  weightedRoutes?: RouteModel[];
  /** What the VIP allocator (lb/vip) should write to etcd for this model. */
  vips?: { create: VipCreate[]; release: VipRelease[] };
}

export interface ModelOptions {
  /** Root domain for automatic `<service>.<domain>` names. */
  domain: string | undefined;
  /** The router's `vipPool`; without it VIPs are shown as held but never allocated or released. */
  vipPool?: VipPool;
  /** The router's active health checks, an input like the keyspace: endpoint → verdict. */
  health?: (endpoint: Endpoint) => ActiveHealth | undefined;
}

/** Pure: the decoded keyspace → the services, rules and problems the targets render. */
export function buildModel(entries: Iterable<Entry>, revision: number, options: ModelOptions): Model {
  const issues: ModelIssue[] = [];
  const specs = new Map<string, { spec: ServiceSpec; createRevision: number }>();
  const endpoints = new Map<string, Array<{ endpoint: Endpoint; createRevision: number; key: string }>>();
  const routes: RouteSpec[] = [];
  const routeEntries: Array<{ spec: RouteSpec; createRevision: number }> = [];
  const holds: VipHold[] = [];
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
        routeEntries.push({ spec: entry.spec, createRevision: entry.createRevision });
        break;
      case 'vip':
        holds.push({ key: entry.key, address: entry.address, service: entry.service, createRevision: entry.createRevision });
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
    const service = serviceModel(name, spec?.spec, own.map((e) => withActiveHealth(e.endpoint, options.health)), issues);
    services.push(service);
    const paths = service.paths.length ? service.paths : [undefined];
    const claim = (host: string, rank: ClaimRank, createRevision: number) => {
      for (const path of paths) claims.push({ host, path, owner: { kind: 'service', name, services: [name] }, rank, createRevision });
    };
    if (options.domain) claim(`${name}.${options.domain}`, 'auto', 0);
    for (const d of spec?.spec.domains ?? []) claim(d, 'spec', spec!.createRevision);
    for (const { endpoint, createRevision } of own) for (const d of endpoint.domains) claim(d, 'label', createRevision);
  }
  const weightedRoutes = buildRoutes(routeEntries, services);
  for (const route of weightedRoutes) {
    const owner: ClaimOwner = { kind: 'route', name: route.name, services: [...new Set(route.groups.map((g) => g.service))] };
    claims.push({ host: route.host, path: route.path, owner, rank: 'spec', createRevision: route.createRevision });
  }
  const hostRules = resolveClaims(claims, issues);
  const won = new Map<string, Set<string>>();
  for (const rule of hostRules) {
    const route = rule.route ? weightedRoutes.find((r) => r.name === rule.route) : undefined;
    if (route) route.active = true;
    for (const service of route ? route.groups.map((g) => g.service) : [rule.service]) {
      won.set(service, (won.get(service) ?? new Set()).add(rule.host));
    }
  }
  const vipPlan = planVips(vipWants(services, issues), holds, options.vipPool);
  issues.push(...vipPlan.issues);
  for (const service of services) {
    const address = vipPlan.assigned.get(service.name);
    const port = vipPort(service);
    if (address && port) service.vip = { address, port };
  }
  for (const service of services) {
    const auto = options.domain ? `${service.name}.${options.domain}` : undefined;
    service.domains = [...(won.get(service.name) ?? [])].sort((a, b) => (a === auto ? -1 : b === auto ? 1 : a.localeCompare(b)));
  }
  return {
    revision,
    services,
    routes: routes.sort((a, b) => a.name.localeCompare(b.name)),
    hostRules,
    issues,
    weightedRoutes,
    vips: { create: vipPlan.create, release: vipPlan.release },
  };
}

/** Services whose spec asks for a VIP; a TCP service must name its port. */
function vipWants(services: ServiceModel[], issues: ModelIssue[]): VipWant[] {
  const wants: VipWant[] = [];
  for (const service of services) {
    const request = service.spec?.vip;
    if (request === undefined || request === 'none') continue;
    if (vipPort(service) === undefined) {
      issues.push({ code: 'FABRIC_ERR_SPEC', subject: `services/${service.name}`, message: 'a TCP service with a VIP needs a port' });
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

function withActiveHealth(endpoint: Endpoint, health: ModelOptions['health']): ModelEndpoint {
  const activeHealth = health?.(endpoint);
  return activeHealth ? { ...endpoint, activeHealth } : endpoint;
}

/**
 * How an endpoint is served: only healthy (or unchecked) endpoints that are up get new requests.
 * Docker's health and the router's active check both count: either saying unhealthy takes it out.
 */
export function servingState(endpoint: ModelEndpoint): ServingState {
  if (endpoint.health === 'unhealthy' || endpoint.health === 'starting') return 'maint';
  if (endpoint.activeHealth === 'unhealthy') return 'maint';
  return endpoint.state === 'draining' ? 'drain' : 'ready';
}
