// A HAProxy template view (the model templates/haproxy.cfg.hbs renders, docs/templates.md) of a given
// size, built directly: what the template benchmark and the port's equivalence test render.

export interface ViewShape {
  backends: number;
  serversPerBackend: number;
  maxconn?: number | null;
  strictLimits?: boolean;
  http?: boolean;
  https?: boolean;
}

export function haproxyBenchView(shape: ViewShape) {
  const states = ['ready', 'ready', 'ready', 'drain', 'maint'] as const;
  const balances = ['roundrobin', 'leastconn', 'source'] as const;
  return {
    revision: 4242,
    global: {
      hardStopAfter: '30s',
      maxconn: shape.maxconn ?? null,
      strictLimits: shape.strictLimits ?? true,
      passiveCheckInter: '10s',
    },
    runtime: { adminSocket: '/var/lib/fabric/haproxy/run/admin.sock' },
    http: shape.http === false ? null : { bind: '0.0.0.0:80' },
    https: shape.https
      ? {
          bind: '0.0.0.0:443',
          crtList: '/var/lib/fabric/haproxy/tls/crt-list',
          maps: {
            hosts: '/var/lib/fabric/haproxy/tls/hosts.map',
            redirect: '/var/lib/fabric/haproxy/tls/redirect.map',
            hsts: '/var/lib/fabric/haproxy/tls/hsts.map',
          },
          redirectPort: ':8443',
        }
      : null,
    maps: {
      hosts: '/var/lib/fabric/haproxy/hosts.map',
      paths: '/var/lib/fabric/haproxy/paths.map',
      acme: '/var/lib/fabric/haproxy/acme.map',
    },
    frontends: Array.from({ length: Math.ceil(shape.backends / 10) }, (_, i) => ({
      name: `vip_svc${i}`,
      service: `svc${i}`,
      bind: i % 2 ? `[fd00::${i}]:443` : `10.99.0.${i}:80`,
      mode: i % 3 ? 'http' : 'tcp',
      backend: `svc_svc${i}`,
    })),
    backends: Array.from({ length: shape.backends }, (_, b) => ({
      name: b % 7 === 6 ? `route_r${b}` : `svc_svc${b}`,
      service: `svc${b}`,
      mode: b % 4 ? 'http' : 'tcp',
      balance: balances[b % 3]!,
      route: b % 7 === 6 ? `r${b}` : null,
      cookie: b % 5 === 4 ? `FABRIC_r${b}` : null,
      // Pool backends (lb/haproxy/spares.ts): free spares, free svc_ backends, spares taken at run time.
      free: b % 7 !== 6 && (b % 11 === 10 || b % 11 === 9),
      spare: b % 7 !== 6 && (b % 11 === 10 || b % 11 === 8),
      // HAProxy-run checks (lb/health/backend-check.ts): HTTP, TCP or none.
      check:
        b % 7 === 6 || b % 3 === 2
          ? null
          : { source: 'spec', path: b % 4 ? '/healthz' : null, timeoutMs: 1000, intervalMs: 2000, downintervalMs: 1000, rise: 2, fall: 3 },
      servers: Array.from({ length: shape.serversPerBackend }, (_, s) => ({
        name: `s${s + 1}`,
        target: `10.${b % 250}.${Math.floor(s / 250)}.${s % 250}:${8000 + s}`,
        weight: (s * 37) % 257,
        state: states[(b + s) % states.length]!,
        endpoint: `endpoints/svc${b}/host${s % 3}/c${s}`,
      })),
    })),
    services: [],
  };
}
