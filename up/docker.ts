import type Docker from 'dockerode';
import { describeError } from '../src/errors.js';

export type DockerProbe = { ok: true; version: string } | { ok: false; reason: string };

/** Whether the engine answers `_ping` (and which version it is), within `timeoutMs`. */
export async function probeDocker(docker: Docker, timeoutMs = 3_000): Promise<DockerProbe> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([docker.ping(), timeout]);
    const version = (await Promise.race([docker.version(), timeout])) as { Version?: string };
    return { ok: true, version: version.Version ?? 'unknown' };
  } catch (err) {
    return { ok: false, reason: describeError(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** What to tell someone whose Docker engine does not answer. */
export function dockerHelp(url: string, reason: string): string[] {
  const socket = url.startsWith('unix://') ? url.slice('unix://'.length) : undefined;
  return [
    `! Docker is not reachable at ${url}: ${reason}`,
    '  The router, HAProxy and etcd run anyway; the agent keeps trying and registers containers once Docker answers.',
    '  To start a Docker engine (Debian: apt-get install docker.io):',
    '    systemctl start docker                       # where systemd runs',
    `    dockerd${socket && socket !== '/var/run/docker.sock' ? ` -H ${url}` : ''} >/var/log/dockerd.log 2>&1 &     # without systemd, as root`,
    '  or point fabric at a running engine: --docker unix:///path/to/docker.sock (or DOCKER_HOST).',
    '  scripts/run.sh starts a private dockerd by itself when none answers.',
  ];
}
