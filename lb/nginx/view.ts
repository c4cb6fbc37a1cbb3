import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { FabricError } from '../../src/errors.js';
import type { Endpoint } from '../../src/model/endpoint.js';
import { normalizeAddress } from '../../src/model/entry.js';
import { type Balance, type Model, type RouteModel, type ServiceModel, servingState } from '../model.js';
import { htpasswd } from '../policy/access-nginx.js';
import { type PolicyContext, routePolicyContext, servicePolicyContext } from '../policy/context.js';
import { nginxErrorPages } from '../policy/error-pages.js';
import { nginxRateLimitZone } from '../policy/rate-limit.js';
import { type NginxPolicy, nginxPolicy, rateLimitZoneName } from '../policy/render-nginx.js';
import type { TemplateFn } from '../render.js';
import type { NginxTlsPlan } from '../tls/nginx-tls.js';
import type { PeerState } from './dynamic/peers.js';
import { runtimeHosts } from './dynamic/runtime-hosts.js';
import { routeUpstreamName, upstreamName } from './names.js';

/** Every file nginx reads or writes, all under the directory of the config (so it runs unprivileged). */
export interface NginxPaths {
  dir: string;
  config: string;
  pid: string;
  lock: string;
  errorLog: string;
  accessLog: string;
  /** One line per proxied request for the router's traffic counts (lb/traffic/nginx-log.ts). */
  trafficLog: string;
  /** nginx's stdout and stderr (it does not write to the router's): what it says before its error log is open. */
  output: string;
  /** The control server's unix socket: answers GET /fabric/config with the config version (and, dynamic, /fabric/peers). */
  controlSocket: string;
  /** The peer state last pushed (dynamic): nginx started before etcd answers gets it again. */
  peers: string;
  temp: { clientBody: string; proxy: string; fastcgi: string; uwsgi: string; scgi: string };
  /** basicAuth htpasswd files, one per service (lb/nginx/auth-files.ts), mode 0600 in a 0700 directory. */
  auth: string;
}

export function nginxPaths(dest: string, dir: string): NginxPaths {
  const run = join(dir, 'run');
  const logs = join(dir, 'logs');
  const tmp = join(dir, 'tmp');
  return {
    dir,
    config: dest,
    pid: join(run, 'nginx.pid'),
    lock: join(run, 'nginx.lock'),
    errorLog: join(logs, 'error.log'),
    accessLog: join(logs, 'access.log'),
    trafficLog: join(logs, 'traffic.log'),
    output: join(logs, 'nginx.out'),
    controlSocket: join(run, 'control.sock'),
    peers: join(run, 'peers.txt'),
    auth: join(dir, 'auth'),
    temp: {
      clientBody: join(tmp, 'client_body'),
      proxy: join(tmp, 'proxy'),
      fastcgi: join(tmp, 'fastcgi'),
      uwsgi: join(tmp, 'uwsgi'),
      scgi: join(tmp, 'scgi'),
    },
  };
}

export interface NginxSettings {
  /** The HTTP listener, `HOST:PORT`; none when absent. */
  http: string | undefined;
  /** Caps how long old workers live after a reload (nginx's `worker_shutdown_timeout`). */
  workerShutdownTimeout: string;
  /** Router-level `trustedProxies`: allow/deny read the client address from their X-Forwarded-For. */
  trustedProxies?: readonly string[] | undefined;
  /** Run-time upstreams through the Lua module (lb/nginx/dynamic): set when they are on. */
  dynamic?: DynamicSetup | undefined;
  /** The HTTPS listener, `HOST:PORT` (dynamic: the 503 server's port when there is no HTTP listener). */
  https?: string | undefined;
}

/** What nginx.conf needs for run-time upstreams: the modules it loads itself, fabric's Lua, the dict's size. */
export interface DynamicSetup {
  /** Absolute paths of ndk_http_module.so and ngx_http_lua_module.so (`load_module`). */
  modules: string[];
  /** The directory of templates/lua/fabric_peers.lua (`lua_package_path`). */
  luaDir: string;
  /** `lua_shared_dict fabric_peers` size, e.g. 32m. */
  dictSize: string;
}

/**
 * Where the 503 server listens (dynamic): a loopback address on the listener's own port, which nginx's
 * workers reach whatever user they run as (a unix socket below the router's private directory they could not).
 */
export const UNREADY_ADDRESS = '127.255.255.254';

function unreadyListen(settings: NginxSettings): { host: string; port: number } {
  const listen = settings.http ?? settings.https ?? '';
  const port = Number(/:(\d+)$/.exec(listen)?.[1] ?? 80);
  return { host: UNREADY_ADDRESS, port };
}

/** Characters a config token may hold (`~` for path prefixes). Anything else means a value escaped validation. */
const SAFE = /^[A-Za-z0-9._:/[\]@~-]*$/;

function safe(value: string | number): string {
  const text = String(value);
  if (!SAFE.test(text)) throw new FabricError('FABRIC_ERR_RENDER', `refusing to render unsafe token ${JSON.stringify(text)}`);
  return text;
}

/** A service's or route's htpasswd file (basicAuth), by its policy context name (lb/policy/context.ts). */
export function authFilePath(authDir: string, name: string): string {
  return join(safe(authDir), `${safe(name)}.htpasswd`);
}

/** The services and routes nginx serves over HTTP, each with its policies. */
function policyContexts(model: Model): PolicyContext[] {
  return [
    ...model.services.filter((s) => s.mode === 'http').map(servicePolicyContext),
    ...(model.weightedRoutes ?? []).filter((r) => r.active).map(routePolicyContext),
  ];
}

/** The htpasswd files the config names: path → content (never part of the view the template or status sees). */
export function nginxAuthFiles(model: Model, paths: NginxPaths): Map<string, string> {
  const files = new Map<string, string>();
  for (const { name, policies } of policyContexts(model)) {
    if (policies?.basicAuth && !policies.maintenance) files.set(authFilePath(paths.auth, name), htpasswd(policies.basicAuth));
  }
  return files;
}

export { routeUpstreamName, upstreamName } from './names.js';

export interface UpstreamView {
  name: string;
  service: string;
  /** Set on a Route's upstream: `service` is then its first backend's service. */
  route?: string;
  balance: Balance;
  servers: Array<{ target: string; weight: number; endpoint: string }>;
  /** What nginx cannot do for this upstream (the template prints them as comments). */
  limitations: string[];
}

export interface LocationView {
  path: string;
  service: string;
  /** Set when a Route won this host (+ path): `upstream` is the route's. */
  route?: string;
  upstream: string;
  /** False when the upstream has no ready endpoint: the location answers 503 (nginx refuses an empty upstream). */
  ready: boolean;
  /** The service's traffic policies (lb/policy/render-nginx.ts), when it has any: a `return` answering instead of proxying… */
  answer?: string;
  /** …or the rewrites before `proxy_pass`. */
  rewrites?: string[];
  /** Its `proxy_set_header` lines (the template repeats fabric's own before them). */
  requestHeaders?: string[];
  /** Its `proxy_hide_header` / `add_header` lines (the template repeats HSTS after them). */
  responseHeaders?: string[];
  /** allow/deny and basicAuth directives: nginx applies them before proxying, ready or not. */
  access?: string[];
  /** errorPages: `error_page` lines and their internal nested locations (lb/policy/error-pages.ts). */
  errorPages?: string[];
  /** errorPages[503]: what the location answers with no ready endpoint, instead of fabric's plain text. */
  unready?: string;
}

export interface HostView {
  name: string;
  /** Whether a rule covers `/`; when not, the template answers 404 there. */
  hasRoot: boolean;
  locations: LocationView[];
  /** Served over HTTPS too (docs/tls.md): the certificate file, its version (printed, so a renewal reloads), HSTS. */
  tls: { cert: string; file: string; version: string; hsts: string | null } | null;
  /** Plain HTTP answers 308 to https (ACME challenge paths excepted). */
  redirect: boolean;
}

/**
 * What the nginx template sees (documented in docs/templates.md). Upstreams hold
 * only endpoints that are ready (up, healthy or unchecked, weight > 0): nginx
 * open source has no active checks, so the router's view decides. Every string
 * is re-checked here: a template can only ever print safe tokens.
 */
export function nginxView(model: Model, paths: NginxPaths, settings: NginxSettings, tls?: NginxTlsPlan) {
  const http = model.services.filter((s) => s.mode === 'http');
  const routes = (model.weightedRoutes ?? []).filter((r) => r.active);
  const limitations = routes.flatMap(routeLimitations);
  const all = [...http.map(serviceUpstream), ...routes.map(routeUpstream)];
  // Dynamic: plain services are served by host from the shared dict, with no server block (runtime-hosts.ts).
  const catchAll = settings.dynamic !== undefined && settings.http !== undefined;
  const runtime = catchAll ? runtimeHosts(model, (host) => tls?.hosts.has(host) ?? false) : new Map<string, string>();
  const withServers = all.filter((u) => u.servers.length > 0);
  // A custom 503 page (errorPages) is the location's own answer: with no ready endpoint it is printed
  // instead of proxy_pass, dynamic or not (for such a service the 0 ↔ 1 ready endpoints step is a reload).
  const withEndpoints = new Set(withServers.map((u) => u.name));
  // Dynamic: every upstream a location names exists, its peers in the shared dict (not in the config,
  // so churn renders the same config); without a usable peer its balancer sends requests to the 503 server.
  const ready = { declared: settings.dynamic ? new Set(all.map((u) => u.name)) : withEndpoints, withEndpoints };
  const access = { authDir: paths.auth, trustedProxies: settings.trustedProxies };
  const hosts = hostViews(model, new Set(http.map((s) => s.name)), ready, tls, access, runtime);
  const named = new Set(hosts.flatMap((h) => h.locations.map((l) => l.upstream)));
  const upstreams = settings.dynamic ? all.filter((u) => named.has(u.name)).map((u) => ({ ...u, servers: [] })) : withServers;
  const acmeChallenges = (model.acme?.challenges ?? []).map(([token, keyAuthorization]) => ({
    path: safe(`/.well-known/acme-challenge/${token}`),
    keyAuthorization: safe(keyAuthorization),
  }));
  // nginx sizes its map hash like its server names hash, and refuses a key that does not fit a bucket.
  const mapHash = serverNamesHash(acmeChallenges.map((c) => c.path));
  return {
    revision: model.revision,
    global: {
      workerShutdownTimeout: safe(settings.workerShutdownTimeout),
      ...serverNamesHash(hosts.map((h) => h.name)),
      mapHashBucketSize: mapHash.serverNamesHashBucketSize,
      mapHashMaxSize: mapHash.serverNamesHashMaxSize,
    },
    paths: {
      pid: safe(paths.pid),
      lock: safe(paths.lock),
      errorLog: safe(paths.errorLog),
      accessLog: safe(paths.accessLog),
      trafficLog: safe(paths.trafficLog),
      temp: {
        clientBody: safe(paths.temp.clientBody),
        proxy: safe(paths.temp.proxy),
        fastcgi: safe(paths.temp.fastcgi),
        uwsgi: safe(paths.temp.uwsgi),
        scgi: safe(paths.temp.scgi),
      },
    },
    /** Run-time upstreams (lb/nginx/dynamic): modules, Lua and the 503 server; null: peers are in the config. */
    dynamic: settings.dynamic
      ? {
          modules: settings.dynamic.modules.map(safe),
          luaDir: safe(settings.dynamic.luaDir),
          dictSize: safe(settings.dynamic.dictSize),
          unready: unreadyListen(settings),
        }
      : null,
    /** `version` is filled by renderNginx: a hash of the config rendered without it. */
    control: { socket: safe(paths.controlSocket), version: '' },
    http: settings.http ? { listen: safe(settings.http) } : null,
    https: tls
      ? { listen: safe(tls.listen), redirectPort: safe(tls.redirectPort), defaultCert: safe(tls.defaultFile), defaultVersion: safe(tls.defaultVersion) }
      : null,
    /** Dynamic with an HTTP listener: its default server routes hosts from the shared dict (runtime-hosts.ts). */
    catchAll,
    /** …these hosts, each with no server block of its own: host → upstream (pushed with the peers, not printed). */
    runtimeHosts: runtime,
    /** The hosts served over HTTPS (a subset of `hosts`). */
    tlsHosts: hosts.filter((h) => h.tls !== null),
    upstreams,
    /** `limit_req_zone` lines of the services' and routes' rate limits (lb/policy/rate-limit.ts), in the http block. */
    rateLimitZones: rateLimitZones(policyContexts(model)),
    hosts,
    /** ACME HTTP-01 answers (lb/tls/acme): request path → key authorization, in a `map` every server block reads. */
    acmeChallenges,
    /** Services nginx's http server cannot carry (tcp mode): listed for a comment, served by other targets. */
    tcpServices: model.services.filter((s) => s.mode === 'tcp').map((s) => safe(s.name)),
    /** What the model asks for that open-source nginx cannot do: the target reports them in its status. */
    limitations,
    services: model.services,
  };
}

export type NginxView = ReturnType<typeof nginxView>;

type UpstreamServer = UpstreamView['servers'][number];

function upstreamServer(e: Endpoint, weight: number): UpstreamServer {
  // IPv6 in canonical form: nginx refuses `::` standing for one zero group (8:1:2:3:4:5:6::), which isIP accepts.
  const address = e.address.includes(':') ? (normalizeAddress(e.address) ?? e.address) : e.address;
  return {
    target: safe(address.includes(':') ? `[${address}]:${e.port}` : `${address}:${e.port}`),
    weight,
    endpoint: safe(`${e.host}/${e.container}`),
  };
}

/** Per service model: the model keeps an unchanged service's object, so a change re-lists only its own servers. */
const serviceUpstreams = new WeakMap<ServiceModel, UpstreamView>();

function serviceUpstream(service: ServiceModel): UpstreamView {
  let upstream = serviceUpstreams.get(service);
  if (!upstream) {
    upstream = {
      name: safe(upstreamName(service.name)),
      service: safe(service.name),
      balance: service.balance,
      servers: service.endpoints.filter((e) => servingState(e) === 'ready' && e.weight > 0).map((e) => upstreamServer(e, e.weight)),
      limitations: [],
    };
    serviceUpstreams.set(service, upstream);
  }
  return upstream;
}

/**
 * A Route's upstream: every endpoint of its groups with the weight HAProxy's route backend
 * gives it (lb/routes/weights.ts), so each version group gets its share. Endpoints that are
 * not ready have weight 0 there and are left out here.
 */
function routeUpstream(route: RouteModel): UpstreamView {
  return {
    name: safe(routeUpstreamName(route.name)),
    service: safe(route.groups[0]?.service ?? route.name),
    route: safe(route.name),
    balance: 'roundrobin',
    servers: route.groups.flatMap((g) => g.servers.filter((s) => s.weight > 0).map((s) => upstreamServer(s.endpoint, s.weight))),
    limitations: routeLimitations(route),
  };
}

function rateLimitZones(contexts: readonly PolicyContext[]): string[] {
  return contexts.flatMap(({ name, policies }) =>
    policies?.rateLimit && !policies.maintenance ? [nginxRateLimitZone(rateLimitZoneName(name), policies.rateLimit)] : [],
  );
}

/** HAProxy pins a sticky route's clients with a cookie it inserts; open-source nginx has no such thing (`sticky` is nginx Plus). */
function routeLimitations(route: RouteModel): string[] {
  if (!route.sticky) return [];
  return [`route ${safe(route.name)}: sticky is not supported by open-source nginx (no cookie stickiness): requests are balanced by weight only`];
}

/** Host rules → one server block per host, its locations longest path first. */
function hostViews(
  model: Model,
  httpServices: Set<string>,
  readyUpstreams: { declared: Set<string>; withEndpoints: Set<string> },
  tls: NginxTlsPlan | undefined,
  access: { authDir: string; trustedProxies: readonly string[] | undefined },
  runtime: ReadonlyMap<string, string>,
): HostView[] {
  // A rule of a route takes the route's policies, a rule of a service the service's (docs/routing.md).
  const contexts = new Map(policyContexts(model).map((c) => [c.name, c]));
  const rendered = new Map<string, NginxPolicy>();
  const policyOf = (name: string): { context: PolicyContext | undefined; policy: NginxPolicy } => {
    const context = contexts.get(name);
    let policy = rendered.get(name);
    if (!policy) {
      const router = { authFile: authFilePath(access.authDir, name), trustedProxies: access.trustedProxies };
      rendered.set(name, (policy = nginxPolicy({ name, policies: context?.policies, access: router })));
    }
    return { context, policy };
  };
  const byHost = new Map<string, Map<string, LocationView>>();
  // Rules without a path first: a rule for the path "/" itself then overrides the host's root, as in HAProxy's path map.
  const rules = model.hostRules
    .filter((r) => (r.route !== undefined || httpServices.has(r.service)) && !runtime.has(r.host))
    .sort((a, b) => Number(a.path !== undefined) - Number(b.path !== undefined));
  for (const rule of rules) {
    const locations = byHost.get(rule.host) ?? new Map<string, LocationView>();
    const path = rule.path ?? '/';
    const upstream = safe(rule.route ? routeUpstreamName(rule.route) : upstreamName(rule.service));
    const route = rule.route ? { route: safe(rule.route) } : {};
    const { context, policy } = policyOf(rule.route ? `route_${rule.route}` : rule.service);
    const policies = context?.policies;
    const pages = nginxErrorPages(policies?.maintenance ? undefined : policies?.errorPages, path);
    locations.set(path, {
      path: safe(path),
      service: safe(rule.service),
      ...route,
      upstream,
      ready: readyUpstreams.declared.has(upstream) && (!pages.unready || readyUpstreams.withEndpoints.has(upstream)),
      ...(policy.access.length > 0 ? { access: policy.access } : {}),
      ...(pages.lines.length > 0 ? { errorPages: pages.lines } : {}),
      ...(pages.unready ? { unready: pages.unready } : {}),
      ...(policy.answer ? { answer: policy.answer } : {}),
      ...(policy.rewrites.length > 0 ? { rewrites: policy.rewrites } : {}),
      ...(policy.requestHeaders.length > 0 ? { requestHeaders: policy.requestHeaders } : {}),
      ...(policy.responseHeaders.length > 0 ? { responseHeaders: policy.responseHeaders } : {}),
    });
    byHost.set(rule.host, locations);
  }
  return [...byHost]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([host, locations]) => {
      const served = tls?.hosts.get(host);
      return {
        name: safe(host),
        hasRoot: locations.has('/'),
        locations: [...locations.values()].sort((a, b) => b.path.length - a.path.length || a.path.localeCompare(b.path)),
        tls: served ? { cert: safe(served.cert), file: safe(served.file), version: safe(served.version), hsts: served.hsts } : null,
        redirect: served?.redirect ?? false,
      };
    });
}

/**
 * nginx refuses to start when a server name does not fit its hash bucket
 * ("could not build server_names_hash"): size both from the names served.
 */
function serverNamesHash(names: string[]): { serverNamesHashBucketSize: number; serverNamesHashMaxSize: number } {
  const longest = Math.max(0, ...names.map((n) => n.length));
  // An entry is a pointer plus the name (+2, pointer-aligned); a bucket ends with a null pointer.
  const needed = 8 + Math.ceil((longest + 2) / 8) * 8 + 8;
  return { serverNamesHashBucketSize: Math.max(64, nextPowerOfTwo(needed)), serverNamesHashMaxSize: Math.max(1024, nextPowerOfTwo(names.length * 4)) };
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export interface RenderedNginx {
  content: string;
  /** The certificates the config names (written before `nginx -t`), with HTTPS. */
  tls?: NginxTlsPlan;
  /** basicAuth htpasswd files the config names: path → content (written before `nginx -t`). */
  authFiles?: Map<string, string>;
  /** What nginx would run: equal versions, equal configs (whatever etcd revision they were rendered at). */
  version: string;
  limitations: string[];
  /** Dynamic upstreams: the peers to push (not in `content`, so churn renders the same config). */
  peers?: PeerState;
}

/**
 * Renders the config and its version: a hash of the config rendered with an
 * empty version and no revision, served by the control server so a reload can
 * be confirmed by asking the new workers which config they run. The revision
 * moves with every key under the prefix (a host record, a router's status):
 * left out of the version, a change nginx does not serve renders the same
 * version, and the target neither writes nor reloads.
 */
export function renderNginx(template: TemplateFn, view: NginxView): RenderedNginx {
  const draft = template({ ...view, revision: 0, control: { ...view.control, version: '' } });
  const version = createHash('sha256').update(draft).digest('hex').slice(0, 16);
  return { content: template({ ...view, control: { ...view.control, version } }), version, limitations: view.limitations };
}
