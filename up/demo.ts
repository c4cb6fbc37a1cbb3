import { request } from 'node:http';
import type Docker from 'dockerode';
import { describeError } from '../src/errors.js';
import { parseHostPort } from '../src/grammar.js';
import type { Logger } from '../src/log.js';
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

/** Ready when the router serves `count` endpoints of the demo service. */
export function demoServedProbe(api: string, count = COUNT): () => Promise<ProbeResult> {
  return async () => {
    const response = await fetch(`${api}/v1/services/${DEMO_SERVICE}/health`, { signal: AbortSignal.timeout(2_000) });
    const body = (await response.json()) as { healthy?: number; total?: number };
    if ((body.healthy ?? 0) >= count) return { ready: true };
    return { ready: false, reason: `${body.healthy ?? 0} of ${count} endpoints ready` };
  };
}

/** Asks the HTTP frontend `times` times, as `curl -H 'Host: web.<domain>' <http>` would, and prints each answer. */
export async function showDemo(http: string, domain: string, out: Output, times = COUNT): Promise<void> {
  const host = `${DEMO_SERVICE}.${domain}`;
  out.line(`  $ curl -H 'Host: ${host}' ${http}`);
  for (let i = 0; i < times; i++) {
    const answer = await get(http, host).catch((err) => `(failed: ${describeError(err)})`);
    out.line(`    ${answer}`);
  }
}

async function get(http: string, host: string): Promise<string> {
  const target = parseHostPort(http);
  if (!target) throw new Error(`${http}: expected HOST:PORT`);
  return new Promise((resolve, reject) => {
    const req = request({ hostname: target.host, port: target.port, path: '/', headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(`${res.statusCode}: ${body.trim()}`));
    });
    req.setTimeout(3_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
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
