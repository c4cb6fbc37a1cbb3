import { FabricError } from '../../src/errors.js';
import type { Model } from '../model.js';
import { trustedFrontendLines, userlistsOf } from '../policy/access-haproxy.js';
import type { TlsFiles } from '../tls/haproxy-desired.js';
import type { Backend, HaproxyDesired } from './desired.js';

export interface HaproxyFiles {
  config: string;
  hostsMap: string;
  pathsMap: string;
  /** ACME HTTP-01: token → key authorization. */
  acmeMap: string;
  adminSocket: string;
  masterSocket: string;
  /** The HTTPS frontend's certificates, crt-list and maps (lb/tls), with `https:`. */
  tls?: TlsFiles;
}

/** The HTTPS frontend as HaproxyTls.view describes it. */
export interface HttpsSettings {
  bind: string;
  crtList: string;
  maps: { hosts: string; redirect: string; hsts: string };
  redirectPort: string;
}

export interface HaproxySettings {
  /** The shared HTTP frontend, `HOST:PORT`; none when absent. */
  http: string | undefined;
  /** The HTTPS frontend; none when absent. */
  https?: HttpsSettings;
  hardStopAfter: string;
  /** Unset: HAProxy derives it from the file-descriptor limit. */
  maxconn: number | undefined;
  /** HAProxy's own Prometheus exporter, `HOST:PORT` (loopback); none when absent. */
  prometheus?: string;
  /** False: `no strict-limits` (HAProxy's worst-case descriptor count exceeds the limit; lb/haproxy/limits.ts). Default true. */
  strictLimits?: boolean;
  /** The defaults' `default-server check inter` in ms (lb/haproxy/limits.ts passiveCheckInterMs); default 10 s. */
  passiveCheckInterMs?: number;
  /** Router-level `trustedProxies` (lb/config.ts): X-Forwarded-For is read only from these. */
  trustedProxies?: readonly string[];
}

/**
 * Characters a config token may hold. Anything else means a value escaped validation. `~` is in
 * the path grammar (src/grammar.ts PATH_PREFIX) and means nothing to HAProxy or its map files.
 */
const SAFE = /^[A-Za-z0-9._:/[\]@~-]*$/;

function safe(value: string | number): string {
  const text = String(value);
  if (!SAFE.test(text)) throw new FabricError('FABRIC_ERR_RENDER', `refusing to render unsafe token ${JSON.stringify(text)}`);
  return text;
}

/** Backend → its view: a backend object is never changed, so its view can be kept (by the target) while it lives. */
export type BackendViews = WeakMap<Backend, ReturnType<typeof backendView>>;

/**
 * What the HAProxy template sees (documented in docs/templates.md). Every string
 * is re-checked here: a template can only ever print safe tokens.
 */
export function haproxyView(desired: HaproxyDesired, model: Model, files: HaproxyFiles, settings: HaproxySettings, views?: BackendViews) {
  return {
    revision: model.revision,
    global: {
      hardStopAfter: safe(settings.hardStopAfter),
      maxconn: settings.maxconn ?? null,
      strictLimits: settings.strictLimits ?? true,
      passiveCheckInter: `${Math.round((settings.passiveCheckInterMs ?? 10_000) / 1_000)}s`,
    },
    runtime: { adminSocket: safe(files.adminSocket) },
    http: settings.http ? { bind: safe(settings.http) } : null,
    prometheus: settings.prometheus ? { bind: safe(settings.prometheus) } : null,
    https: settings.https ? httpsView(settings.https) : null,
    maps: { hosts: safe(files.hostsMap), paths: safe(files.pathsMap), acme: safe(files.acmeMap) },
    frontends: (desired.frontends ?? []).map((f) => ({
      name: safe(f.name),
      service: safe(f.service),
      bind: safe(hostPort(f.address, f.port)),
      mode: f.mode,
      backend: safe(f.backend),
    })),
    backends: desired.backends.map((b) => {
      let view = views?.get(b);
      if (!view) {
        // Not inside `views?.set(…)`: optional chaining would skip building the view without a cache.
        view = backendView(b);
        views?.set(b, view);
      }
      return view;
    }),
    services: model.services,
    /** The HTTP frontends' lines that read the client address from a trusted proxy's X-Forwarded-For. */
    trusted: trustedFrontendLines(settings.trustedProxies).map(policyLine),
    /** basicAuth userlists the backends' lines name (hashes are crypt(3) strings the grammar admitted). */
    userlists: userlistsOf(desired.backends.map((b) => b.policy)).map((list) => ({
      name: safe(list.name),
      users: list.users.map((u) => ({ name: safe(u.name), hash: authHash(u.hash) })),
    })),
  };
}

function httpsView(https: HttpsSettings) {
  return {
    bind: safe(https.bind),
    crtList: safe(https.crtList),
    maps: { hosts: safe(https.maps.hosts), redirect: safe(https.maps.redirect), hsts: safe(https.maps.hsts) },
    redirectPort: safe(https.redirectPort),
  };
}

function backendView(b: Backend) {
  return {
    name: safe(b.name),
    service: safe(b.service),
    mode: b.mode,
    balance: b.balance,
    route: b.route ? safe(b.route) : null,
    cookie: b.cookie ? safe(b.cookie) : null,
    free: b.free ?? false,
    spare: b.spare ?? false,
    /** `h2`: `proto h2` on every server line (an h2c service, src/model/proto.ts); else null. */
    proto: b.proto ?? null,
    check: b.check ? checkView(b.check) : null,
    /** Traffic policy lines (lb/policy/render-haproxy.ts), each one printable line. */
    policy: (b.policy ?? []).map(policyLine),
    servers: b.servers.map((s) => ({
      name: safe(s.name),
      target: safe(hostPort(s.address, s.port)),
      weight: s.weight,
      state: s.state,
      endpoint: s.endpoint ?? null,
    })),
  };
}

/** HAProxy's own check of a service (docs/health-checks.md): a down server is checked at most every second, so it comes back soon after `rise`. */
function checkView(check: NonNullable<Backend['check']>) {
  return {
    source: check.source,
    path: check.path ? safe(check.path) : null,
    timeoutMs: check.timeoutMs,
    intervalMs: check.intervalMs,
    downintervalMs: Math.min(check.intervalMs, 1_000),
    rise: check.rise,
    fall: check.fall,
  };
}

/**
 * A policy line is one line of printable ASCII; outside its one quoted value (a header's, without
 * `"`, `\\` or `$`) no quote, backslash or comment. Anything else escaped validation.
 */
/** bcrypt and SHA-512-crypt alphabets: printed bare, where HAProxy expands no `$`. */
function authHash(hash: string): string {
  if (!/^\$[0-9a-z]{1,2}\$[./A-Za-z0-9$=]{20,200}$/.test(hash)) throw new FabricError('FABRIC_ERR_RENDER', 'refusing to render an unsafe password hash');
  return hash;
}

function policyLine(line: string): string {
  const outside = line.replace(/ "(?:[^"\\$]|\\.)*"$/, '');
  if (!/^[\x21-\x7e][\x20-\x7e]*$/.test(line) || /["\\#]/.test(outside)) {
    throw new FabricError('FABRIC_ERR_RENDER', `refusing to render unsafe policy line ${JSON.stringify(line)}`);
  }
  return line;
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function renderMap(entries: Array<[string, string]>): string {
  return entries.map(([key, value]) => `${safe(key)} ${safe(value)}\n`).join('');
}
