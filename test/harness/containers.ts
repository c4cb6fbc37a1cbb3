// Web containers for tests: busybox httpd, labelled, published on 127.0.0.1 or on the host network.
//
// Published ports are chosen here (a free loopback port from the kernel), not by Docker: dockerd
// hands out host ports one after the other from 32768 up, knowing only its own, so another Docker
// engine on the machine (a second test run, a benchmark) makes it collide with ports already
// bound ("Error starting userland proxy: ... address already in use"). A collision that still
// happens in the short race is retried with other ports.
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { DEFAULT_TEST_IMAGE } from './image.js';
import { freePorts } from './ports.js';

export interface RunWebOptions {
  name?: string;
  labels: Record<string, string>;
  /** Container port httpd listens on; default 80. */
  port?: number;
  /** Publish the port on 127.0.0.1 on a free host port; default true (ignored for hostNetwork). */
  publish?: boolean;
  /** Run in the host network, httpd bound to 127.0.0.1:<port>. */
  hostNetwork?: { port: number };
  healthcheck?: { test: string[]; intervalMs: number; timeoutMs?: number; retries?: number };
  /** Served as /index.html instead of 'ok'. */
  body?: string;
  stopSignal?: string;
  image?: string;
  env?: Record<string, string>;
}

export interface WebContainer {
  id: string;
  name: string;
  /** The published port on 127.0.0.1 (or the host-network port). */
  hostPort?: number;
  container: Docker.Container;
  stop(timeoutSec?: number): Promise<void>;
  kill(signal?: string): Promise<void>;
  remove(): Promise<void>;
}

export async function runWeb(docker: Docker, opts: RunWebOptions): Promise<WebContainer> {
  const port = opts.hostNetwork?.port ?? opts.port ?? 80;
  const listen = opts.hostNetwork ? `127.0.0.1:${port}` : String(port);
  const publish = !opts.hostNetwork && (opts.publish ?? true);
  const portKey = `${port}/tcp`;
  const env = { ...opts.env, ...(opts.body === undefined ? {} : { BODY: opts.body }) };
  return withFreeHostPorts(publish ? 1 : 0, async ([publishedPort]) => {
    const name = opts.name ?? `fabtest-web-${randomBytes(4).toString('hex')}`;
    const container = await createAndStart(docker, {
      name,
      Image: opts.image ?? DEFAULT_TEST_IMAGE,
      Labels: opts.labels,
      Cmd: httpdCmd(listen, opts.body !== undefined),
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ExposedPorts: opts.hostNetwork ? undefined : { [portKey]: {} },
      StopSignal: opts.stopSignal,
      Healthcheck: opts.healthcheck && healthcheck(opts.healthcheck),
      HostConfig: {
        NetworkMode: opts.hostNetwork ? 'host' : 'bridge',
        PortBindings: publishedPort ? { [portKey]: [{ HostIp: '127.0.0.1', HostPort: String(publishedPort) }] } : undefined,
      },
    });
    return {
      id: container.id,
      name,
      hostPort: opts.hostNetwork ? port : publishedPort,
      container,
      stop: async (timeoutSec = 2) => ignoreNotModified(container.stop({ t: timeoutSec })),
      kill: async (signal = 'SIGKILL') => void (await container.kill({ signal })),
      remove: async () => ignoreMissing(container.remove({ force: true, v: true })),
    };
  });
}

export interface CustomContainerOptions {
  labels: Record<string, string>;
  cmd: string[];
  /** Exposed container ports. */
  exposed?: number[];
  /** Of those, the ones published on 127.0.0.1 (each on a free host port). */
  published?: number[];
  image?: string;
}

/** A container of the test image with any command and ports (runWeb covers the usual web case). */
export async function runCustom(docker: Docker, opts: CustomContainerOptions): Promise<{ id: string; name: string; container: Docker.Container }> {
  const published = opts.published ?? [];
  return withFreeHostPorts(published.length, async (hostPorts) => {
    const name = `fabtest-custom-${randomBytes(4).toString('hex')}`;
    const container = await createAndStart(docker, {
      name,
      Image: opts.image ?? DEFAULT_TEST_IMAGE,
      Labels: opts.labels,
      Cmd: opts.cmd,
      ExposedPorts: Object.fromEntries((opts.exposed ?? []).map((p) => [`${p}/tcp`, {}])),
      HostConfig: {
        PortBindings: Object.fromEntries(published.map((p, i) => [`${p}/tcp`, [{ HostIp: '127.0.0.1', HostPort: String(hostPorts[i]) }]])),
      },
    });
    return { id: container.id, name, container };
  });
}

/** Force-removes every container of the engine (tests own the whole private engine). */
export async function removeAllContainers(docker: Docker): Promise<void> {
  const containers = await docker.listContainers({ all: true });
  await Promise.all(containers.map((c) => ignoreMissing(docker.getContainer(c.Id).remove({ force: true, v: true }))));
}

const PUBLISH_ATTEMPTS = 5;

function isPortClash(error: unknown): boolean {
  return /address already in use|port is already allocated/i.test(String((error as Error)?.message ?? error));
}

/** Runs `create` with `n` free loopback ports; a port taken meanwhile is retried with others. */
async function withFreeHostPorts<T>(n: number, create: (ports: number[]) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports = n ? await freePorts(n) : [];
    try {
      return await create(ports);
    } catch (error) {
      if (attempt >= PUBLISH_ATTEMPTS || !isPortClash(error)) throw error;
    }
  }
}

/** A container that fails to start is removed, so a retry can reuse its name. */
async function createAndStart(docker: Docker, spec: Docker.ContainerCreateOptions): Promise<Docker.Container> {
  const container = await docker.createContainer(spec);
  try {
    await container.start();
  } catch (error) {
    await ignoreMissing(container.remove({ force: true, v: true })).catch(() => {});
    throw error;
  }
  return container;
}

/** The body goes through the environment, so no shell quoting can break it. */
function httpdCmd(listen: string, customBody: boolean): string[] {
  const httpd = `httpd -f -p ${listen} -h /www`;
  return customBody ? ['/bin/sh', '-c', `printf '%s' "$BODY" > /www/index.html && exec ${httpd}`] : ['/bin/busybox', ...httpd.split(' ')];
}

function healthcheck(h: NonNullable<RunWebOptions['healthcheck']>) {
  const ms = 1_000_000; // Docker wants nanoseconds
  return {
    Test: h.test,
    Interval: h.intervalMs * ms,
    Timeout: (h.timeoutMs ?? Math.max(h.intervalMs, 1_000)) * ms,
    Retries: h.retries ?? 1,
  };
}

async function ignoreNotModified(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 304) throw error;
  }
}

async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
}
