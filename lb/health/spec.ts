import { endpointIdentity } from '../../src/keyspace.js';
import type { Endpoint } from '../../src/model/endpoint.js';
import { speaksH2c } from '../../src/model/proto.js';
import type { ServiceSpec } from '../../src/model/service.js';
import type { Thresholds } from './state.js';

/** The router's own check settings (router config `healthCheck:`), the last word in precedence. */
export interface CheckDefaults {
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  /** What an endpoint with no check asked for anywhere gets: a TCP connect (HAProxy's `check`) or nothing. */
  unconfigured: 'tcp' | 'none';
}

export const DEFAULT_CHECK: CheckDefaults = { intervalMs: 2_000, timeoutMs: 1_000, rise: 2, fall: 3, unconfigured: 'tcp' };

/** Where an endpoint's check came from: the most specific source that asked for it. */
export type CheckSource = 'spec' | 'labels' | 'default';

export interface CheckSpec extends Thresholds {
  kind: 'http' | 'tcp';
  address: string;
  port: number;
  /** HTTP only: the path to GET. */
  path: string | undefined;
  /** HTTP only: GET over cleartext HTTP/2 (`proto: h2c`): the endpoint speaks no HTTP/1.1. */
  h2?: true;
  intervalMs: number;
  timeoutMs: number;
  source: CheckSource;
}

/** `<service>/<host>/<container>`: how the checks name one endpoint, whichever key layout holds it. */
export const endpointKey = endpointIdentity;

/**
 * Pure: the check an endpoint gets. Each setting comes from the Service spec's
 * `healthCheck`, else the container's labels (`fabric.health.*`), else the
 * router's defaults. HTTP when a path is set and the service speaks HTTP, else
 * a TCP connect. Undefined when nothing asked for a check and the router's
 * default is `none`.
 */
export function resolveCheck(endpoint: Endpoint, spec: ServiceSpec | undefined, defaults: CheckDefaults): CheckSpec | undefined {
  const fromSpec = spec?.healthCheck;
  const fromLabels = endpoint.check;
  const source: CheckSource = fromSpec ? 'spec' : fromLabels ? 'labels' : 'default';
  if (source === 'default' && defaults.unconfigured === 'none') return undefined;
  const mode = spec?.mode ?? endpoint.mode;
  const path = mode === 'http' ? (fromSpec?.path ?? fromLabels?.path) : undefined;
  return {
    kind: path ? 'http' : 'tcp',
    address: endpoint.address,
    port: endpoint.port,
    path,
    intervalMs: fromSpec?.interval ?? fromLabels?.intervalMs ?? defaults.intervalMs,
    timeoutMs: fromSpec?.timeout ?? defaults.timeoutMs,
    rise: fromSpec?.rise ?? defaults.rise,
    fall: fromSpec?.fall ?? defaults.fall,
    source,
    ...(path && speaksH2c(spec) ? { h2: true as const } : {}),
  };
}

/** What is probed: when it changes, earlier results say nothing about the new target. */
export function probeTarget(spec: CheckSpec): string {
  if (spec.kind === 'http' && spec.h2) return `h2c://${hostPort(spec.address, spec.port)}${spec.path}`;
  return spec.kind === 'http' ? `http://${hostPort(spec.address, spec.port)}${spec.path}` : `tcp://${hostPort(spec.address, spec.port)}`;
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
