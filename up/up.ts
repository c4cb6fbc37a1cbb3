import { join, relative } from 'node:path';
import { dockerClient } from '../agent/docker-source.js';
import { type AgentHandle, type AgentOptions, startAgent } from '../agent/start.js';
import { routerConfigSchema } from '../lb/config.js';
import { type RouterHandle, startRouter } from '../lb/start.js';
import { describeError, FabricError } from '../src/errors.js';
import { connectEtcd } from '../src/etcd.js';
import type { Logger } from '../src/log.js';
import { type CommonOptions, parseOrThrow } from '../src/options.js';
import { demoServedProbe, removeDemo, showDemo, startDemo } from './demo.js';
import { type DockerProbe, dockerHelp, probeDocker } from './docker.js';
import { EmbeddedEtcd } from './etcd.js';
import { curlLine, ensureLocalPki, httpsGet, type LocalPki, storeUpCert, UP_CERT_NAME } from './https.js';
import { httpProbe, type Output, WaitTimeout, waitReady } from './progress.js';
import { ShutdownRequested, type StopStack } from './stop-stack.js';

export interface UpOptions {
  /** Router's etcd, listen address (API + dashboard) and log level; `etcd.endpoints` is replaced when embedded. */
  common: CommonOptions;
  /** Start the embedded etcd (no --etcd given). */
  embeddedEtcd: boolean;
  dataDir: string;
  domain: string;
  /** HAProxy's HTTP frontend. */
  http: string;
  /** HAProxy's HTTPS frontend, with a certificate from a local CA under the data dir (up/https.ts). */
  https: string;
  agent: AgentOptions;
  agentListen: string;
  demo: boolean;
  logFile: string;
}

/** What `fabric up` runs; `stop` takes it down in reverse order. */
export interface Fabric {
  etcd: string;
  router: RouterHandle;
  agent: AgentHandle;
  /** Idempotent: demo containers → agent → router (and HAProxy) → etcd. */
  stop(): Promise<void>;
}

/**
 * etcd → router (+ HAProxy) → agent → demo, each waited for; then what runs where. Each part
 * pushes its stop on `stack`; a shutdown meanwhile (`stack.stopAll()`) ends the start with
 * ShutdownRequested once whatever was starting has its stop on the stack.
 */
export async function up(options: UpOptions, out: Output, log: (component: string) => Logger, stack: StopStack): Promise<Fabric> {
  const logger = log('up');
  try {
    const etcd = await startStore(options, stack, out, logger);
    const common: CommonOptions = { ...options.common, etcd: { ...options.common.etcd, endpoints: etcd } };
    const pki = await ensureLocalPki(options.dataDir, options.domain);
    const router = await startRouterStep(options, common, pki, stack, out, log);
    const https: HttpsSetup = { pki };
    await storeCertStep(options, common, https, out);
    const { agent, docker } = await startAgentStep(options, common, router, stack, out, log);
    if (options.demo) await startDemoStep(options, router, agent, docker, https, stack, out, logger);
    if (stack.stopRequested) throw new ShutdownRequested(); // never "fabric is up" while it stops
    printSummary(options, etcd, router, agent, docker, https, out);
    return { etcd: etcd.join(','), router, agent, stop: () => stack.stopAll() };
  } catch (err) {
    if (err instanceof ShutdownRequested || stack.stopRequested) throw new ShutdownRequested();
    out.line(`! ${describeError(err)}`);
    await stack.stopAll();
    throw err instanceof WaitTimeout ? new FabricError('FABRIC_ERR_STARTUP', err.message, { cause: err }) : err;
  }
}

/** A wait gives up as soon as a shutdown begins. */
function untilShutdown(stack: StopStack, also?: () => string | undefined): () => string | undefined {
  return () => (stack.stopRequested ? 'shutting down' : also?.());
}

async function startStore(options: UpOptions, stack: StopStack, out: Output, logger: Logger): Promise<string[]> {
  if (!options.embeddedEtcd) {
    out.line(`→ etcd: using ${options.common.etcd.endpoints.join(', ')}`);
    return options.common.etcd.endpoints;
  }
  out.line(`→ etcd: starting the embedded etcd (data in ${display(join(options.dataDir, 'etcd'))})`);
  const etcd = await stack.start(async () => {
    const started = await EmbeddedEtcd.start({ dataDir: options.dataDir, logger });
    stack.push('etcd', () => started.stop());
    return started;
  });
  const abort = untilShutdown(stack, () => etcd.exited);
  await waitReady(out, { what: `etcd at ${etcd.endpoint}`, probe: () => etcd.probe(), timeoutMs: 30_000, abort });
  return [etcd.endpoint];
}

/** The local CA and the wildcard certificate it signed (up/https.ts). */
interface HttpsSetup {
  pki: LocalPki;
}

async function startRouterStep(
  options: UpOptions,
  common: CommonOptions,
  pki: LocalPki,
  stack: StopStack,
  out: Output,
  log: (component: string) => Logger,
): Promise<RouterHandle> {
  const target = { kind: 'haproxy', http: options.http, dest: join(options.dataDir, 'haproxy', 'haproxy.cfg') };
  // Every host gets HTTPS with the local wildcard certificate (`auto`: any stored certificate covering it), and
  // names with no service get it too (the default certificate), so `curl --cacert` verifies everywhere.
  const tls = { keyFile: pki.tlsKeyFile, default: 'auto', defaultCert: UP_CERT_NAME };
  const config = parseOrThrow(routerConfigSchema, { domain: options.domain, tls, targets: [{ ...target, https: options.https }] }, 'router config');
  out.line(`→ router: HAProxy on ${options.http} and ${options.https} (HTTPS), API and dashboard on ${options.common.listen}`);
  // fabric up owns the whole machine: Ctrl-C stops HAProxy with the router.
  const router = await stack.start(async () => {
    const started = await startRouter({ common, config, logger: log('router'), lbOnExit: 'stop' });
    stack.push('router and HAProxy', () => started.stop());
    return started;
  });
  await waitReady(out, { what: 'router and HAProxy', probe: httpProbe(`${router.address}/readyz`), timeoutMs: 30_000, abort: untilShutdown(stack) });
  return router;
}

/** The wildcard certificate into etcd (`certs/fabric-up`), where every router's certificate store reads it. */
async function storeCertStep(options: UpOptions, common: CommonOptions, https: HttpsSetup, out: Output): Promise<void> {
  out.line(`→ https: local CA ${display(https.pki.caFile)}, certificate for *.${options.domain} stored as certs/${UP_CERT_NAME}`);
  const etcd = connectEtcd(common.etcd);
  try {
    await storeUpCert(etcd.kv, https.pki);
  } finally {
    etcd.close();
  }
}

async function startAgentStep(
  options: UpOptions,
  common: CommonOptions,
  router: RouterHandle,
  stack: StopStack,
  out: Output,
  log: (component: string) => Logger,
): Promise<{ agent: AgentHandle; docker: DockerProbe }> {
  out.line(`→ agent: Docker at ${options.agent.docker}`);
  const docker = await probeDocker(dockerClient(options.agent.docker));
  if (!docker.ok) for (const line of dockerHelp(options.agent.docker, docker.reason)) out.line(line);
  const agent = await stack.start(async () => {
    const started = await startAgent({ common: { ...common, listen: options.agentListen }, agent: options.agent, logger: log('agent') });
    stack.push('agent', () => started.stop());
    return started;
  });
  router.events.addSource('agent', () => agentSummary(agent));
  if (docker.ok) {
    const probe = httpProbe(`${agent.address}/readyz`);
    await waitReady(out, { what: `agent (Docker ${docker.version})`, probe, timeoutMs: 30_000, abort: untilShutdown(stack) });
  }
  return { agent, docker };
}

async function startDemoStep(
  options: UpOptions,
  router: RouterHandle,
  agent: AgentHandle,
  docker: DockerProbe,
  https: HttpsSetup,
  stack: StopStack,
  out: Output,
  logger: Logger,
): Promise<void> {
  if (!docker.ok) {
    out.line('! --demo needs Docker: skipped (see above)');
    return;
  }
  out.line('→ demo: three busybox web containers, service "web"');
  const client = dockerClient(options.agent.docker);
  const remove = () => removeDemo(client, logger);
  const containers = await stack.start(async () => {
    stack.push('demo containers', remove, remove); // before they exist: a half-done start is removed too
    return startDemo(client, out, logger);
  });
  // The agent's rejections (a port it cannot route to, a label it refuses) are the likeliest reason to wait.
  const probe = demoServedProbe(
    router.address,
    () => containers,
    () => agent.agent.rejected(),
  );
  await waitReady(out, { what: `web.${options.domain} served by ${containers.length} endpoints`, probe, timeoutMs: 30_000, abort: untilShutdown(stack) });
  await showDemo(options.http, options.domain, out);
  const host = `web.${options.domain}`;
  out.line(`  $ ${curlLine(options.https, host, display(https.pki.caFile))}`);
  out.line(`    ${await httpsGet(options.https, host, https.pki.caFile).catch((err) => `(failed: ${describeError(err)})`)}`);
}

/** The agent's state for the dashboard; the containers it rejects the router shows itself (from etcd). */
function agentSummary(agent: AgentHandle): Record<string, unknown> {
  const status = agent.agent.status();
  const lastError = status.lastError as { message?: string } | undefined;
  return {
    state: status.state,
    docker: status.docker,
    error: status.docker === 'connected' ? undefined : lastError?.message,
  };
}

function printSummary(options: UpOptions, etcd: string[], router: RouterHandle, agent: AgentHandle, docker: DockerProbe, https: HttpsSetup, out: Output): void {
  const rows: Array<[string, string]> = [
    ['HTTP frontend', `http://${options.http}  (a container labelled fabric.service=NAME answers at NAME.${options.domain})`],
    ['HTTPS', `https://${options.https}  (certificate for *.${options.domain} from the local CA ${display(https.pki.caFile)})`],
    ['dashboard', `${router.address}/`],
    ['API', `${router.address}/v1/services  (OpenAPI: ${router.address}/docs)`],
    ['etcd', `${etcd.join(', ')}${options.embeddedEtcd ? `  (embedded, data in ${display(join(options.dataDir, 'etcd'))})` : ''}`],
    ['agent', `${agent.address}  on ${options.agent.docker}${docker.ok ? '' : '  (Docker not reachable: waiting for it)'}`],
    ['logs', display(options.logFile)],
  ];
  out.line('');
  out.line('fabric is up:');
  for (const [what, where] of rows) out.line(`  ${what.padEnd(14)} ${where}`);
  out.line(`  try: curl -H 'Host: ${options.demo ? 'web' : 'NAME'}.${options.domain}' ${options.http}`);
  out.line(`       ${curlLine(options.https, `${options.demo ? 'web' : 'NAME'}.${options.domain}`, display(https.pki.caFile))}`);
  out.line('Ctrl-C stops everything.');
}

/** A path relative to the working directory when it is inside it. */
function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}
