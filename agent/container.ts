import { constants } from 'node:os';
import type { ContainerInspectInfo } from 'dockerode';
import type { Health } from '../src/model/endpoint.js';

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
  };
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
