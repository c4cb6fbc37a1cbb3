import { constants } from 'node:os';
import type { ContainerInfo, ContainerInspectInfo } from 'dockerode';
import type { Health } from '../src/model/endpoint.js';
import { envMap } from './compat/names.js';

/** What the agent needs to know of a container, read from `docker inspect`. */
export interface ContainerFacts {
  id: string;
  name: string;
  labels: Record<string, string>;
  running: boolean;
  paused: boolean;
  health: Health;
  hostNetwork: boolean;
  stopSignal: string | undefined;
  exposedTcpPorts: number[];
  published: PublishedPort[];
  networks: Record<string, string>;
  /** `Config.Env` as a map: only an inspect carries it (the list does not), and it never changes for a container. */
  env?: Record<string, string>;
}

export interface PublishedPort {
  containerPort: number;
  hostIp: string;
  hostPort: number;
}

export function factsFromInspect(info: ContainerInspectInfo): ContainerFacts {
  const exposed = Object.keys(info.Config?.ExposedPorts ?? {});
  const ports = info.NetworkSettings?.Ports ?? {};
  const published: PublishedPort[] = [];
  for (const [spec, bindings] of Object.entries(ports)) {
    const containerPort = tcpPort(spec);
    if (containerPort === undefined || !bindings) continue;
    for (const binding of bindings) {
      published.push({ containerPort, hostIp: binding.HostIp ?? '', hostPort: Number(binding.HostPort) });
    }
  }
  const networks: Record<string, string> = {};
  for (const [name, net] of Object.entries(info.NetworkSettings?.Networks ?? {})) networks[name] = net.IPAddress ?? '';
  const healthStatus = (info.State as { Health?: { Status?: string } }).Health?.Status;
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    labels: info.Config?.Labels ?? {},
    running: info.State.Running,
    paused: info.State.Paused,
    health: healthStatus === 'healthy' || healthStatus === 'unhealthy' || healthStatus === 'starting' ? healthStatus : 'none',
    hostNetwork: info.HostConfig?.NetworkMode === 'host',
    stopSignal: (info.Config as { StopSignal?: string } | undefined)?.StopSignal,
    exposedTcpPorts: [...new Set([...exposed.map(tcpPort), ...published.map((p) => p.containerPort)])].filter((p): p is number => p !== undefined),
    published,
    networks,
    env: envMap(info.Config?.Env),
  };
}

/**
 * The same facts from one entry of `docker ps` (the list call): a full sync reads every container
 * in one call instead of one inspect each. The list lacks two things, so `needsInspect` says when
 * its facts are not enough.
 */
export function factsFromList(info: ContainerInfo): ContainerFacts {
  const tcp = (info.Ports ?? []).filter((p) => p.Type === 'tcp');
  const published = tcp.flatMap((p) => (p.PublicPort ? [{ containerPort: p.PrivatePort, hostIp: p.IP ?? '', hostPort: p.PublicPort }] : []));
  const networks: Record<string, string> = {};
  for (const [name, net] of Object.entries(info.NetworkSettings?.Networks ?? {})) networks[name] = net.IPAddress ?? '';
  // Docker's own status text carries the health: "Up 2 minutes (healthy)", "(health: starting)".
  const health = /\((healthy|unhealthy|health: starting)\)/.exec(info.Status ?? '')?.[1];
  return {
    id: info.Id,
    name: (info.Names?.[0] ?? '').replace(/^\//, ''),
    labels: info.Labels ?? {},
    running: info.State === 'running' || info.State === 'paused',
    paused: info.State === 'paused',
    health: health === 'health: starting' ? 'starting' : health === 'healthy' || health === 'unhealthy' ? health : 'none',
    hostNetwork: info.HostConfig?.NetworkMode === 'host',
    stopSignal: undefined,
    exposedTcpPorts: [...new Set(tcp.map((p) => p.PrivatePort))],
    published,
    networks,
  };
}

/**
 * Whether a listed container must be inspected after all: the list has no StopSignal (needed
 * once a kill event was seen), and a host-network container's exposed ports show only in its
 * config (needed when no `fabric.port` label names the port).
 */
export function needsInspect(facts: ContainerFacts, killed: boolean, portLabel: string): boolean {
  return killed || (facts.hostNetwork && facts.labels[portLabel] === undefined);
}

function tcpPort(spec: string): number | undefined {
  const match = /^(\d+)\/tcp$/.exec(spec);
  return match ? Number(match[1]) : undefined;
}

const ALWAYS_STOPPING = new Set(['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGQUIT']);

/**
 * Whether a `kill` event means the container is going away. `docker kill -s HUP`
 * asks many servers to reload: those must keep their traffic.
 */
export function isStopSignal(signal: string | undefined, stopSignal: string | undefined): boolean {
  const name = signalName(signal);
  if (!name) return true;
  return ALWAYS_STOPPING.has(name) || (stopSignal !== undefined && name === signalName(stopSignal));
}

function signalName(signal: string | undefined): string | undefined {
  if (!signal) return undefined;
  const text = signal.trim().toUpperCase();
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    return Object.entries(constants.signals).find(([, n]) => n === number)?.[0];
  }
  return text.startsWith('SIG') ? text : `SIG${text}`;
}
