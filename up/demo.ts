import type Docker from 'dockerode';
import { describeError } from '../src/errors.js';
import type { Logger } from '../src/log.js';
import type { Rejection } from '../src/model/host.js';
import { answerOf } from './answer.js';
import { buildBusyboxImage } from './image.js';
import type { Output, ProbeResult } from './progress.js';

export const DEMO_IMAGE = 'fabric-demo:latest';
export const DEMO_SERVICE = 'web';
const DEMO_LABEL = 'fabric.demo';
const COUNT = 3;

export interface DemoContainer {
  name: string;
  id: string;
}

/**
 * `fabric up --demo`: the busybox web image (built locally with `docker
 * import`, no registry) and three containers labelled `fabric.service=web`,
 * each answering with its own name, published on 127.0.0.1.
 */
export async function startDemo(docker: Docker, out: Output, logger: Logger): Promise<DemoContainer[]> {
  await ensureImage(docker, out);
  await removeDemo(docker, logger);
  const started: DemoContainer[] = [];
  for (let i = 1; i <= COUNT; i++) started.push(await runDemoContainer(docker, `${DEMO_SERVICE}-${i}`));
  out.line(`  ✓ demo containers ${started.map((c) => c.name).join(', ')} (label fabric.service=${DEMO_SERVICE})`);
  return started;
}

/** Removes every container a demo started (by its label), this run's or an earlier one's. */
export async function removeDemo(docker: Docker, logger: Logger): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${DEMO_LABEL}=true`] } });
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch((err) => logger.warn({ container: c.Id, err: describeError(err) }, 'could not remove a demo container')),
    ),
  );
}

/** An endpoint of the demo service as the router's `/v1/services/<name>` shows it. */
export interface ServedEndpoint {
  container: string;
  name: string;
  serving: string;
  effectiveHealth?: string;
  healthCheck?: { state?: string; lastError?: string | null } | null;
}

/**
 * Ready when the router serves an endpoint for every demo container; until then the reason
 * says why not, container by container: rejected by the agent (and why), registered but not
 * served (and why), or not registered yet.
 */
export function demoServedProbe(api: string, containers: () => DemoContainer[], rejected: () => Rejection[]): () => Promise<ProbeResult> {
  return async () => {
    const response = await fetch(`${api}/v1/services/${DEMO_SERVICE}`, { signal: AbortSignal.timeout(2_000) });
    const endpoints = response.status === 404 ? [] : (((await response.json()) as { endpoints?: ServedEndpoint[] }).endpoints ?? []);
    return demoProgress(containers(), endpoints, rejected());
  };
}

/** Pure: the demo containers, what the router serves and what the agent rejected → ready, or why not. */
export function demoProgress(containers: DemoContainer[], endpoints: ServedEndpoint[], rejected: Rejection[]): ProbeResult {
  const ids = new Set(containers.map((c) => c.id));
  const ours = endpoints.filter((e) => ids.has(e.container));
  const ready = ours.filter((e) => e.serving === 'ready').length;
  const total = containers.length || COUNT;
  if (containers.length > 0 && ready >= containers.length) return { ready: true };
  const why = new Map<string, string[]>(); // reason → container names
  const add = (reason: string, name: string) => why.set(reason, [...(why.get(reason) ?? []), name]);
  for (const r of rejected) if (ids.has(r.container)) add(`rejected by the agent: ${r.reason}`, r.name);
  for (const e of ours) if (e.serving !== 'ready') add(notServed(e), e.name);
  const seen = new Set([...ours.map((e) => e.container), ...rejected.map((r) => r.container)]);
  for (const c of containers) if (!seen.has(c.id)) add('not registered yet', c.name);
  const reasons = [...why].map(([reason, names]) => `${names.sort().join(', ')} ${reason}`);
  return { ready: false, reason: [`${ready} of ${total} endpoints ready`, ...reasons].join('; ') };
}

function notServed(endpoint: ServedEndpoint): string {
  const check = endpoint.healthCheck;
  if (check?.lastError) return `not served (${endpoint.serving}): health check failing: ${check.lastError}`;
  if (endpoint.effectiveHealth && endpoint.effectiveHealth !== 'healthy') return `not served (${endpoint.serving}): health ${endpoint.effectiveHealth}`;
  return `not served (${endpoint.serving})`;
}

/** Asks the HTTP frontend `times` times, as `curl -H 'Host: web.<domain>' <http>` would, and prints each answer. */
export async function showDemo(http: string, domain: string, out: Output, times = COUNT): Promise<void> {
  const host = `${DEMO_SERVICE}.${domain}`;
  out.line(`  $ curl -H 'Host: ${host}' ${http}`);
  for (let i = 0; i < times; i++) {
    const answer = await answerOf(http, host).catch((err) => `(failed: ${describeError(err)})`);
    out.line(`    ${answer}`);
  }
}

async function ensureImage(docker: Docker, out: Output): Promise<void> {
  const present = await docker
    .getImage(DEMO_IMAGE)
    .inspect()
    .then(() => true)
    .catch(() => false);
  if (present) return;
  out.line(`  … building ${DEMO_IMAGE} from /bin/busybox (docker import)`);
  await buildBusyboxImage(docker, DEMO_IMAGE);
}

async function runDemoContainer(docker: Docker, name: string): Promise<DemoContainer> {
  const container = await docker.createContainer({
    name: `fabric-demo-${name}`,
    Image: DEMO_IMAGE,
    Labels: { 'fabric.service': DEMO_SERVICE, [DEMO_LABEL]: 'true' },
    Cmd: ['/bin/sh', '-c', `printf 'hello from ${name}\\n' > /www/index.html && exec httpd -f -p 80 -h /www`],
    ExposedPorts: { '80/tcp': {} },
    HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
  });
  await container.start();
  return { name: `fabric-demo-${name}`, id: container.id };
}
