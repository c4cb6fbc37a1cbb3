import ipaddr from 'ipaddr.js';
import { describeError, FabricError } from '../errors.js';
import { isIpAddress, serviceName } from '../grammar.js';
import { Keys, parseEndpointKey, parseHostKey } from '../keyspace.js';
import { type CertRecord, decodeCertRecord } from '../tls/cert-record.js';
import { decodeJson } from './codec.js';
import type { Endpoint } from './endpoint.js';
import { decodeEndpoint } from './endpoint-decode.js';
import { type HostRecord, hostRecordSchema } from './host.js';
import { type RouteSpec, routeSpecSchema, type ServiceSpec, storedServiceSpecSchema } from './service.js';

/**
 * One fabric key, decoded: what the router's store holds and what `fabric get`
 * reads. A value that fails to decode is kept as `invalid` with the reason.
 */
export interface EntryBase {
  key: string;
  /** The value as etcd holds it: an identical put is not a change. */
  raw: string;
  /** Older claims win domain conflicts. */
  createRevision: number;
}

export type Entry = EntryBase &
  (
    | { kind: 'endpoint'; endpoint: Endpoint }
    | { kind: 'service'; spec: ServiceSpec }
    | { kind: 'route'; spec: RouteSpec }
    /** `vips/<address>` = service name: the address is that service's VIP. */
    | { kind: 'vip'; address: string; service: string }
    /** `hosts/<host>/info` (or `hosts/<host>`, the older layout): an agent's host record (with the containers it rejected). */
    | { kind: 'host'; host: HostRecord }
    /** `certs/<name>`: a certificate, its private key still encrypted (src/tls/cert-record.ts). */
    | { kind: 'cert'; cert: CertRecord }
    | { kind: 'other' }
    | { kind: 'invalid'; error: string }
  );

/** Below a host's `endpoints/`: an endpoint key, or a malformed one (reported, never served). */
const HOST_ENDPOINT_KEY = /^hosts\/[^/]+\/endpoints\//;

export function decodeEntry(key: string, raw: string, createRevision: number): Entry {
  const base = { key, raw, createRevision };
  try {
    // Both layouts: `endpoints/<service>/<host>/<id>` and `hosts/<host>/endpoints/<service>/<id>`.
    if (key.startsWith(Keys.endpointsRoot) || HOST_ENDPOINT_KEY.test(key)) {
      const endpoint = decodeEndpoint(key, raw);
      const parsed = parseEndpointKey(key);
      // The host too: a value under another host's key would be served twice, or as that host's.
      if (!parsed || parsed.service !== endpoint.service || parsed.host !== endpoint.host || parsed.container !== endpoint.container) {
        throw new FabricError('FABRIC_ERR_DECODE', `${key}: key does not match the endpoint's service, host and container`);
      }
      return { ...base, kind: 'endpoint', endpoint };
    }
    if (key.startsWith(Keys.servicesRoot)) {
      const spec = decodeJson(storedServiceSpecSchema, key, raw);
      if (Keys.service(spec.name) !== key) throw new Error(`${key}: name "${spec.name}" does not match the key`);
      return { ...base, kind: 'service', spec };
    }
    if (key.startsWith(Keys.routesRoot)) {
      const spec = decodeJson(routeSpecSchema, key, raw);
      if (Keys.route(spec.name) !== key) throw new Error(`${key}: name "${spec.name}" does not match the key`);
      return { ...base, kind: 'route', spec };
    }
    if (key.startsWith(Keys.vipsRoot)) return { ...base, kind: 'vip', ...decodeVip(key, raw) };
    if (key.startsWith(Keys.certsRoot)) return { ...base, kind: 'cert', cert: decodeCertRecord(key, raw) };
    const hostKey = parseHostKey(key);
    if (hostKey) {
      const host = decodeJson(hostRecordSchema, key, raw);
      if (hostKey.host !== host.name) throw new Error(`${key}: name "${host.name}" does not match the key`);
      return { ...base, kind: 'host', host };
    }
    return { ...base, kind: 'other' };
  } catch (err) {
    return { ...base, kind: 'invalid', error: describeError(err) };
  }
}

/** `vips/<address>`: the key names the address (canonical form), the value the service holding it. */
function decodeVip(key: string, raw: string): { address: string; service: string } {
  const address = key.slice(Keys.vipsRoot.length);
  if (!isIpAddress(address) || normalizeAddress(address) !== address) {
    throw new FabricError('FABRIC_ERR_DECODE', `${key}: "${address}" is not an IP address in canonical form`);
  }
  const service = raw.trim();
  if (!serviceName.safeParse(service).success) throw new FabricError('FABRIC_ERR_DECODE', `${key}: ${JSON.stringify(service)} is not a service name`);
  return { address, service };
}

/** An IP address in its canonical text form, or undefined when it is not one. */
export function normalizeAddress(address: string): string | undefined {
  return ipaddr.isValid(address) ? ipaddr.parse(address).toString() : undefined;
}
