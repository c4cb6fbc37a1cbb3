import { serviceNameFrom } from './names.js';
import { parseTraefikRule } from './traefik-rule.js';
import type { CompatInput, CompatMapping } from './types.js';

/** Middlewares that guard access: a container that asks for one is refused, never served open without it. */
const ACCESS_CONTROL = /^traefik\.http\.middlewares\.([^.]+)\.(basicauth|digestauth|forwardauth|ipallowlist|ipwhitelist)\./i;
const ROUTER = /^traefik\.http\.routers\.([^.]+)\.(.+)$/;
const SERVICE = /^traefik\.http\.services\.([^.]+)\.(.+)$/;
/** Service keys fabric maps onto its labels. */
const SERVICE_KEYS: Record<string, string> = {
  'loadbalancer.server.port': 'fabric.port',
  'loadbalancer.healthcheck.path': 'fabric.health.path',
  'loadbalancer.healthcheck.interval': 'fabric.health.interval',
};

/**
 * Traefik's Docker provider (labels): `traefik.enable`, each router's `rule` (Host and PathPrefix,
 * see traefik-rule.ts) → domains and path, `traefik.http.services.<s>.loadbalancer.server.port`
 * → the port. The service is named after the Traefik service, else the router, else the compose
 * service, else the container. Middlewares, entry points, TLS options and every other key are
 * reported as ignored; a container whose every rule is refused is refused, and so is one that
 * defines an access-control middleware (basic/digest/forward auth, an IP allow list): served
 * without it, it would be open.
 */
export function mapTraefik({ name, labels }: CompatInput): CompatMapping {
  const keys = Object.keys(labels)
    .filter((key) => key.startsWith('traefik.'))
    .sort();
  if (keys.length === 0) return { kind: 'none' };
  const enable = labels['traefik.enable'];
  if (enable !== undefined && enable.toLowerCase() !== 'true') return { kind: 'none' };

  const ignored: string[] = [];
  const routers = new Map<string, string>();
  const services = new Set<string>();
  const out: Record<string, string> = {};
  for (const key of keys) {
    if (key === 'traefik.enable') continue;
    const router = ROUTER.exec(key);
    const service = SERVICE.exec(key);
    if (router && router[2] === 'rule') routers.set(router[1]!, labels[key]!);
    else if (router && router[2] === 'service') services.add(labels[key]!);
    else if (service && SERVICE_KEYS[service[2]!]) {
      services.add(service[1]!);
      out[SERVICE_KEYS[service[2]!]!] = labels[key]!;
    } else ignored.push(`traefik: ${key} is not mapped`);
  }
  const guards = [...new Set(keys.flatMap((key) => ACCESS_CONTROL.exec(key)?.slice(1, 3).join(' (') ?? []))];
  if (guards.length) {
    const reason = `traefik: middleware ${guards.map((g) => `${g})`).join(', ')} guards access and fabric does not map it: not served open (use a Service spec's basicAuth/allow)`;
    return { kind: 'refuse', reason, ignored };
  }
  if (services.size > 1) ignored.push(`traefik: ${services.size} services (${[...services].sort().join(', ')}); fabric registers one per container`);

  const domains: string[] = [];
  let path: string | undefined;
  let chosen: string | undefined;
  const refused: string[] = [];
  for (const [router, rule] of [...routers].sort(([a], [b]) => a.localeCompare(b))) {
    const parsed = parseTraefikRule(rule);
    if (!parsed.ok) {
      refused.push(`traefik: router ${router}: ${parsed.reason}`);
      continue;
    }
    if (chosen !== undefined && parsed.path !== path) {
      refused.push(`traefik: router ${router}: its PathPrefix differs from router ${chosen}'s; fabric routes one path per container`);
      continue;
    }
    chosen ??= router;
    path = parsed.path;
    domains.push(...parsed.hosts);
  }
  ignored.push(...refused);
  if (routers.size > 0 && chosen === undefined) return { kind: 'refuse', reason: refused.join('; '), ignored };

  const service = serviceNameFrom([...services].sort()[0] ?? chosen ?? labels['com.docker.compose.service'] ?? name);
  if (!service) return { kind: 'refuse', reason: `traefik: no service name can be made of "${name}"`, ignored };
  out['fabric.service'] = service;
  if (domains.length) out['fabric.domains'] = [...new Set(domains)].join(',');
  if (path !== undefined) out['fabric.path'] = path;
  return { kind: 'map', labels: out, ignored };
}
