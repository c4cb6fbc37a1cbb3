import { commaList } from './names.js';
import type { CompatInput, CompatMapping } from './types.js';

/**
 * registrator (labels or environment; a label wins over a variable of the same name):
 * `SERVICE_NAME`, or `SERVICE_<port>_NAME` for one container port, → the service (and port);
 * `SERVICE_CHECK_HTTP` / `SERVICE_CHECK_INTERVAL` → the health check; `SERVICE_TAGS` tags of
 * fabio's form `urlprefix-<host><path>` → domains and path. Only containers that name their
 * service are registered (registrator's `-explicit` mode); other tags and keys are reported.
 */
export function mapRegistrator({ labels, env }: CompatInput): CompatMapping {
  const meta = registratorKeys(env, labels);
  const portNames = Object.keys(meta)
    .flatMap((key) => {
      const match = /^SERVICE_(\d{1,5})_NAME$/.exec(key);
      return match ? [Number(match[1])] : [];
    })
    .sort((a, b) => a - b);
  if (meta.SERVICE_NAME === undefined && portNames.length === 0) return { kind: 'none' };
  const ignore = meta.SERVICE_IGNORE;
  if (ignore !== undefined && ignore !== '' && ignore.toLowerCase() !== 'false') return { kind: 'none' };

  const ignored: string[] = [];
  const used = new Set(['SERVICE_NAME', 'SERVICE_TAGS', 'SERVICE_CHECK_HTTP', 'SERVICE_CHECK_INTERVAL', 'SERVICE_IGNORE']);
  const out: Record<string, string> = {};
  const port = portNames[0];
  if (port !== undefined) {
    used.add(`SERVICE_${port}_NAME`);
    out['fabric.service'] = meta[`SERVICE_${port}_NAME`]!;
    out['fabric.port'] = String(port);
    for (const other of portNames.slice(1)) used.add(`SERVICE_${other}_NAME`);
    for (const other of portNames.slice(1)) ignored.push(`registrator: SERVICE_${other}_NAME (fabric registers one port per container; port ${port} is used)`);
  } else {
    out['fabric.service'] = meta.SERVICE_NAME!;
  }
  const portKey = (suffix: string) => (port !== undefined ? meta[`SERVICE_${port}_${suffix}`] : undefined);
  for (const suffix of ['TAGS', 'CHECK_HTTP', 'CHECK_INTERVAL']) if (port !== undefined) used.add(`SERVICE_${port}_${suffix}`);

  const checkPath = portKey('CHECK_HTTP') ?? meta.SERVICE_CHECK_HTTP;
  const checkInterval = portKey('CHECK_INTERVAL') ?? meta.SERVICE_CHECK_INTERVAL;
  if (checkPath !== undefined) out['fabric.health.path'] = checkPath;
  if (checkInterval !== undefined) out['fabric.health.interval'] = checkInterval;

  const domains: string[] = [];
  const paths = new Set<string>();
  for (const tag of commaList(portKey('TAGS') ?? meta.SERVICE_TAGS)) {
    const prefix = /^urlprefix-([^/]*)(\/.*)?$/.exec(tag);
    if (!prefix) {
      ignored.push(`registrator: tag "${tag}" (fabric has no tags; only urlprefix-<host><path> is read)`);
      continue;
    }
    if (prefix[1]) domains.push(prefix[1]);
    if (prefix[2] && prefix[2] !== '/') paths.add(prefix[2]);
  }
  if (domains.length) out['fabric.domains'] = [...new Set(domains)].join(',');
  if (paths.size > 1)
    return { kind: 'refuse', reason: `registrator: urlprefix tags name ${paths.size} paths; fabric routes one path prefix per container`, ignored };
  const [path] = paths;
  if (path) out['fabric.path'] = path;

  for (const key of Object.keys(meta).sort()) if (!used.has(key)) ignored.push(`registrator: ${key} is not mapped`);
  return { kind: 'map', labels: out, ignored };
}

/** The `SERVICE_*` keys of the environment, then of the labels over them. */
function registratorKeys(env: Record<string, string> | undefined, labels: Record<string, string>): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const source of [env ?? {}, labels]) {
    for (const [key, value] of Object.entries(source)) if (key.startsWith('SERVICE_')) meta[key] = value;
  }
  return meta;
}
