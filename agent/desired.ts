import { Keys } from '../src/keyspace.js';
import type { Endpoint } from '../src/model/endpoint.js';
import { type CompatTool, type Effective, effectiveLabels } from './compat/index.js';
import type { ContainerFacts } from './container.js';
import { isOptedIn, readLabels, type ServiceLabels } from './labels.js';

export type AddressMode = 'published' | 'container' | 'host';

export interface HostContext {
  host: string;
  hostIp: string;
  addressMode: AddressMode;
  network: string | undefined;
  /** `--compat`: other tools whose labels (and environment) are read too, in this order. */
  compat?: readonly CompatTool[];
  /** `--pool`: published in the host record. */
  pool?: string;
}

/** What one container should look like in etcd. */
export type Outcome =
  | { kind: 'ignore' }
  | { kind: 'reject'; container: string; name: string; reason: string; ignored?: string[] }
  | { kind: 'register'; key: string; endpoint: Endpoint; ignored?: string[] };

/**
 * Pure: a container's facts (+ whether it is stopping) → its endpoint, or why not. With `--compat`
 * the other tools' labels are mapped first (agent/compat/) and validated like native ones; what
 * they carry and fabric does not understand rides along as `ignored`.
 */
export function desiredOutcome(facts: ContainerFacts, ctx: HostContext, draining: boolean): Outcome {
  if (!facts.running || facts.paused) return { kind: 'ignore' };
  const effective: Effective = ctx.compat?.length
    ? effectiveLabels(ctx.compat, { name: facts.name, labels: facts.labels, env: facts.env })
    : { labels: facts.labels, ignored: [] };
  const labelSet = effective.labels;
  const ignored = effective.ignored.length ? { ignored: effective.ignored } : {};
  const reject = (reason: string): Outcome => ({ kind: 'reject', container: facts.id, name: facts.name, reason, ...ignored });
  if (effective.refused !== undefined) return reject(effective.refused);
  if (!labelSet || !isOptedIn(labelSet)) return { kind: 'ignore' };
  const read = readLabels(labelSet);
  if (!read.ok) return reject(effective.from ? `${read.reason} (mapped from ${effective.from})` : read.reason);
  const labels = read.labels;
  const target = resolveAddress(facts, labels, ctx);
  if ('reason' in target) return reject(target.reason);
  const endpoint: Endpoint = {
    service: labels.service,
    host: ctx.host,
    container: facts.id,
    name: facts.name,
    address: target.address,
    port: target.port,
    weight: labels.weight,
    version: labels.version,
    mode: labels.mode,
    domains: labels.domains,
    path: labels.path,
    tls: labels.tls,
    health: facts.health,
    state: draining ? 'draining' : 'up',
    check: labels.check,
  };
  return { kind: 'register', key: Keys.endpoint(labels.service, ctx.host, facts.id), endpoint, ...ignored };
}

type Target = { address: string; port: number } | { reason: string };

function resolveAddress(facts: ContainerFacts, labels: ServiceLabels, ctx: HostContext): Target {
  // A host-network container can only be reached on the host, whatever the mode.
  const mode: AddressMode = facts.hostNetwork ? 'host' : ctx.addressMode;
  switch (mode) {
    case 'published':
      return publishedAddress(facts, labels, ctx);
    case 'container':
      return containerAddress(facts, labels, ctx);
    case 'host':
      return hostAddress(facts, labels, ctx);
  }
}

function publishedAddress(facts: ContainerFacts, labels: ServiceLabels, ctx: HostContext): Target {
  const publishedPorts = [...new Set(facts.published.map((p) => p.containerPort))];
  let port = labels.port;
  if (port === undefined) {
    if (publishedPorts.length !== 1) {
      return { reason: `label fabric.port is required: the container publishes ${publishedPorts.length} ports` };
    }
    port = publishedPorts[0]!;
  }
  const bindings = facts.published.filter((p) => p.containerPort === port);
  // Prefer an IPv4 binding; "0.0.0.0" or "" means every address of the host.
  const binding = bindings.find((b) => !b.hostIp.includes(':')) ?? bindings[0];
  if (!binding) return { reason: `port ${port}/tcp is not published (address mode "published")` };
  const wildcard = binding.hostIp === '' || binding.hostIp === '0.0.0.0' || binding.hostIp === '::';
  return { address: wildcard ? ctx.hostIp : binding.hostIp, port: binding.hostPort };
}

function containerAddress(facts: ContainerFacts, labels: ServiceLabels, ctx: HostContext): Target {
  const port = labels.port ?? singlePort(facts.exposedTcpPorts);
  if (port === undefined) return { reason: `label fabric.port is required: the container exposes ${facts.exposedTcpPorts.length} ports` };
  if (!facts.exposedTcpPorts.includes(port)) return { reason: `port ${port}/tcp is not exposed by the container` };
  const names = Object.keys(facts.networks);
  const network = ctx.network ?? (names.length === 1 ? names[0] : undefined);
  if (!network) return { reason: `the container is on ${names.length} networks: set --network` };
  const address = facts.networks[network];
  if (!address) return { reason: `the container has no address on network "${network}"` };
  return { address, port };
}

function hostAddress(facts: ContainerFacts, labels: ServiceLabels, ctx: HostContext): Target {
  const port = labels.port ?? singlePort(facts.exposedTcpPorts);
  if (port === undefined) return { reason: 'label fabric.port is required for a host-network container' };
  return { address: ctx.hostIp, port };
}

function singlePort(ports: number[]): number | undefined {
  return ports.length === 1 ? ports[0] : undefined;
}
