import { ENDPOINT_ID, HOST_NAME, isDomain, isIpAddress, PATH_PREFIX, SERVICE_NAME, VERSION } from '../grammar.js';
import { CERT_NAME } from '../tls/names.js';
import { parseJson, validate } from './codec.js';
import { type Endpoint, endpointSchema } from './endpoint.js';

/**
 * The endpoint schema (src/model/endpoint.ts) without zod, for the router's hot path: decoding
 * 100,000 endpoints at start-up took ~0.8 s in zod, ~0.1 s here. It only ever accepts: a value it
 * returns is exactly what `endpointSchema.parse` returns (same fields, same order, domains
 * lower-cased, unknown keys dropped); anything it is not sure of is undefined, and the caller asks
 * zod, which then accepts or refuses with its own message. So the results cannot differ
 * (property-tested against zod in src/model/__tests__/endpoint-decode.test.ts).
 */
export function fastEndpoint(raw: unknown): Endpoint | undefined {
  if (!isRecord(raw)) return undefined;
  const { service, host, container, name, address, port, weight, mode, domains, health, state } = raw;
  // An optional field's null is absent (src/model/nulls.ts, which the schema runs first): read without copying.
  const { version, path, tls, check } = optionals(raw);
  if (!matches(service, SERVICE_NAME) || !matches(host, HOST_NAME) || !matches(container, ENDPOINT_ID) || !matches(name, NAME)) return undefined;
  if (typeof address !== 'string' || !isIpAddress(address)) return undefined;
  if (!intIn(port, 1, 65_535) || !intIn(weight, 0, 256)) return undefined;
  if (version !== undefined && !matches(version, VERSION)) return undefined;
  if (mode !== 'http' && mode !== 'tcp') return undefined;
  const lowered = domainList(domains);
  if (!lowered) return undefined;
  if (path !== undefined && !matches(path, PATH_PREFIX)) return undefined;
  if (tls !== undefined && !(tls === 'auto' || tls === 'none' || matches(tls, CERT_NAME))) return undefined;
  if (health !== 'healthy' && health !== 'unhealthy' && health !== 'starting' && health !== 'none') return undefined;
  if (state !== 'up' && state !== 'draining') return undefined;
  let checkOut: Endpoint['check'];
  if (check !== undefined) {
    checkOut = healthCheck(check);
    if (!checkOut) return undefined;
  }
  // The schema's field order: zod builds its output in it.
  const out: Endpoint = { service, host, container, name, address, port, weight } as Endpoint;
  if (version !== undefined) out.version = version as string;
  out.mode = mode;
  out.domains = lowered;
  if (path !== undefined) out.path = path as string;
  if (tls !== undefined) out.tls = tls as string;
  out.health = health;
  out.state = state;
  if (checkOut) out.check = checkOut;
  return out;
}

/** An etcd value → its endpoint: the common valid one without zod; anything else zod accepts or refuses. */
export function decodeEndpoint(key: string, text: string): Endpoint {
  const raw = parseJson(key, text);
  return fastEndpoint(raw) ?? validate(endpointSchema, key, raw);
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function optionals(raw: Record<string, unknown>): { version: unknown; path: unknown; tls: unknown; check: unknown } {
  return { version: raw.version ?? undefined, path: raw.path ?? undefined, tls: raw.tls ?? undefined, check: raw.check ?? undefined };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function matches(value: unknown, pattern: RegExp): value is string {
  return typeof value === 'string' && pattern.test(value);
}

function intIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** `domains`: at most 64, each lower-cased then a valid domain (zod's transform, then its refine). */
function domainList(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || value.length > 64) return undefined;
  const out: string[] = [];
  for (const d of value) {
    if (typeof d !== 'string') return undefined;
    const lower = d.toLowerCase();
    if (!isDomain(lower)) return undefined;
    out.push(lower);
  }
  return out;
}

function healthCheck(value: unknown): Endpoint['check'] | undefined {
  if (!isRecord(value)) return undefined;
  const path = value.path ?? undefined;
  const intervalMs = value.intervalMs ?? undefined;
  if (path !== undefined && !matches(path, PATH_PREFIX)) return undefined;
  if (intervalMs !== undefined && !intIn(intervalMs, 100, 3_600_000)) return undefined;
  const out: NonNullable<Endpoint['check']> = {};
  if (path !== undefined) out.path = path;
  if (intervalMs !== undefined) out.intervalMs = intervalMs;
  return out;
}
