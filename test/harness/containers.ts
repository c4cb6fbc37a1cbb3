// Web containers for tests: busybox httpd, labelled, published on 127.0.0.1 or on the host network.
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { DEFAULT_TEST_IMAGE } from './image.js';

export interface RunWebOptions {
  name?: string;
  labels: Record<string, string>;
  /** Container port httpd listens on; default 80. */
  port?: number;
  /** Publish the port on 127.0.0.1 with a random host port; default true (ignored for hostNetwork). */
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
  const name = opts.name ?? `fabtest-web-${randomBytes(4).toString('hex')}`;
  const port = opts.hostNetwork?.port ?? opts.port ?? 80;
  const listen = opts.hostNetwork ? `127.0.0.1:${port}` : String(port);
  const publish = !opts.hostNetwork && (opts.publish ?? true);
  const portKey = `${port}/tcp`;
  const env = { ...opts.env, ...(opts.body === undefined ? {} : { BODY: opts.body }) };
  const container = await docker.createContainer({
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
      PortBindings: publish ? { [portKey]: [{ HostIp: '127.0.0.1', HostPort: '' }] } : undefined,
    },
  });
  // Docker picks host ports from the kernel's ephemeral range, which other test servers use too:
  // a rare "address already in use" is retried (Docker picks another port).
  for (let attempt = 1; ; attempt++) {
    try {
      await container.start();
      break;
    } catch (err) {
      if (attempt >= 5 || !/address already in use/.test(String((err as Error).message))) throw err;
    }
  }
  const hostPort = opts.hostNetwork ? port : publish ? await publishedPort(container, portKey) : undefined;
  return {
    id: container.id,
    name,
    hostPort,
    container,
    stop: async (timeoutSec = 2) => ignoreNotModified(container.stop({ t: timeoutSec })),
    kill: async (signal = 'SIGKILL') => void (await container.kill({ signal })),
    remove: async () => ignoreMissing(container.remove({ force: true, v: true })),
  };
}

/** Force-removes every container of the engine (tests own the whole private engine). */
export async function removeAllContainers(docker: Docker): Promise<void> {
  const containers = await docker.listContainers({ all: true });
  await Promise.all(containers.map((c) => ignoreMissing(docker.getContainer(c.Id).remove({ force: true, v: true }))));
}

/** The body goes through the environment, so no shell quoting can break it. */
function httpdCmd(listen: string, customBody: boolean): string[] {
  const httpd = `httpd -f -p ${listen} -h /www`;
  return customBody
    ? ['/bin/sh', '-c', `printf '%s' "$BODY" > /www/index.html && exec ${httpd}`]
    : ['/bin/busybox', ...httpd.split(' ')];
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

async function publishedPort(container: Docker.Container, portKey: string): Promise<number> {
  const info = await container.inspect();
  const binding = info.NetworkSettings.Ports?.[portKey]?.[0];
  if (!binding) throw new Error(`container ${info.Name} has no published ${portKey}`);
  return Number(binding.HostPort);
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
