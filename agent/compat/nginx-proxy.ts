import { commaList, serviceNameFrom } from './names.js';
import type { CompatInput, CompatMapping } from './types.js';

/** nginx-proxy's variables fabric maps; its other VIRTUAL_* / LETSENCRYPT_* ones are reported as ignored. */
const KNOWN = new Set(['VIRTUAL_HOST', 'VIRTUAL_PORT', 'VIRTUAL_PATH']);
const REPORTED = /^(VIRTUAL_|LETSENCRYPT_|CERT_NAME$|HTTPS_METHOD$|HSTS$|NETWORK_ACCESS$|SSL_POLICY$)/;

/**
 * nginx-proxy (environment): `VIRTUAL_HOST` (comma list) → the domains, `VIRTUAL_PORT` → the port,
 * `VIRTUAL_PATH` → the path prefix. nginx-proxy groups containers into one upstream by host, so
 * the service is named after the first host (and the path, when there is one): containers sharing
 * them share the service, and two paths of one host are two services, as in nginx-proxy.
 */
export function mapNginxProxy({ env }: CompatInput): CompatMapping {
  const hosts = commaList(env?.VIRTUAL_HOST);
  if (!env || hosts.length === 0) return { kind: 'none' };
  const ignored = Object.keys(env)
    .filter((key) => REPORTED.test(key) && !KNOWN.has(key))
    .sort()
    .map((key) => `nginx-proxy: ${key} is not mapped`);
  const path = env.VIRTUAL_PATH !== undefined && env.VIRTUAL_PATH !== '/' ? env.VIRTUAL_PATH : undefined;
  const service = serviceNameFrom(`${hosts[0]!}${path ?? ''}`);
  if (!service) return { kind: 'refuse', reason: `nginx-proxy: VIRTUAL_HOST "${hosts[0]}" gives no service name`, ignored };
  const labels: Record<string, string> = { 'fabric.service': service, 'fabric.domains': hosts.join(',') };
  if (env.VIRTUAL_PORT !== undefined) labels['fabric.port'] = env.VIRTUAL_PORT;
  if (path !== undefined) labels['fabric.path'] = path;
  return { kind: 'map', labels, ignored };
}
