import { hostname, networkInterfaces } from 'node:os';
import type { Command } from 'commander';
import { z } from 'zod';
import type { ApiAccess } from '../src/api-access.js';
import { delay } from '../src/backoff.js';
import { durationSchema } from '../src/duration.js';
import { connectEtcd } from '../src/etcd.js';
import { hostName, ipAddress } from '../src/grammar.js';
import type { Logger } from '../src/log.js';
import { createRegistry } from '../src/metrics.js';
import { STATIC_HOST } from '../src/model/static-endpoint.js';
import { type CommonOptions, option, parseOrThrow } from '../src/options.js';
import { poolName } from '../src/tenancy/allowed.js';
import { packageVersion } from '../src/version.js';
import { Agent } from './agent.js';
import { parseCompatList } from './compat/index.js';
import { dockerClient } from './docker-source.js';
import { AgentMetrics } from './metrics.js';
import { HostRegistry } from './registry.js';

const agentSchema = z.object({
  docker: z.string().regex(/^(unix|tcp):\/\//, 'must be unix:///path or tcp://host:port'),
  hostName: hostName.refine((h) => h !== STATIC_HOST, { message: `"${STATIC_HOST}" is reserved for the static endpoints of Service specs` }),
  hostIp: ipAddress,
  addressMode: z.enum(['published', 'container', 'host']),
  network: z.string().optional(),
  ttl: durationSchema({ min: 2_000, max: 3_600_000 }),
  resyncInterval: durationSchema({ min: 1_000, max: 86_400_000 }),
  keepLease: z.boolean(),
  pool: poolName.optional(),
  compat: z.unknown().transform((value, ctx) => {
    const tools = parseCompatList(value);
    if (typeof tools === 'string') {
      ctx.addIssue({ code: 'custom', message: tools });
      return z.NEVER;
    }
    return tools;
  }),
});

export type AgentOptions = z.infer<typeof agentSchema>;

/** The agent's own flags (CONTRACT.md, "Agent flags"); `fabric agent` and `fabric up` take them. */
export function addAgentOptions(command: Command): Command {
  return command
    .addOption(option('--docker <url>', 'Docker engine (DOCKER_HOST is honoured)'))
    .addOption(option('--host-name <name>', "this host's name in etcd", hostname()))
    .addOption(option('--host-ip <ip>', 'address at which published ports are reached'))
    .addOption(option('--address-mode <mode>', 'published | container | host', 'published'))
    .addOption(option('--network <name>', 'Docker network whose address is registered in container mode'))
    .addOption(option('--ttl <duration>', "lease TTL: a dead agent's keys vanish after it", '15s'))
    .addOption(option('--resync-interval <duration>', 'full reconcile of Docker against etcd', '30s'))
    .addOption(option('--keep-lease', 'on SIGTERM let the lease expire instead of revoking it', false))
    .addOption(option('--pool <name>', "this host's pool, published in its host record: Service specs may allow only some pools"))
    .addOption(option('--compat <tools>', "also read other tools' labels: nginx-proxy,registrator,traefik (comma-separated) or none", 'none'));
}

/** Resolved flags → agent options; `hostIp` defaults to `defaultHostIp` (the first external IPv4 unless given). */
export function agentOptions(values: Record<string, unknown>, defaultHostIp = firstExternalIp()): AgentOptions {
  return parseOrThrow(
    agentSchema,
    { ...values, docker: values.docker ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock', hostIp: values.hostIp ?? defaultHostIp },
    'agent options',
  );
}

export interface AgentStartOptions {
  common: CommonOptions;
  agent: AgentOptions;
  logger: Logger;
  /**
   * Told how to stop as soon as the agent runs, before its API is up: a SIGTERM right after the
   * first registration must revoke the lease, not kill the process with the keys left behind.
   */
  onRunning?: (stop: () => Promise<void>) => void;
}

/** A running agent: its API address, the agent, and one way to stop both. */
export interface AgentHandle {
  /** `http://host:port` of the API. */
  address: string;
  agent: Agent;
  /** Idempotent: API, then the agent (revoking its lease unless --keep-lease), then the etcd client. */
  stop(): Promise<void>;
}

/** Starts the agent as `fabric agent` and `fabric up` run it: connect etcd → registry → agent → API → start → listen. */
export async function startAgent(options: AgentStartOptions): Promise<AgentHandle> {
  const { common, agent: opts, logger } = options;
  const registry = createRegistry('agent');
  const metrics = new AgentMetrics(registry);
  const etcd = connectEtcd(common.etcd);
  const hostRegistry = new HostRegistry(etcd.kv, opts.hostName, Math.round(opts.ttl / 1000), logger, common.etcd);
  const agent = Agent.create(
    dockerClient(opts.docker),
    hostRegistry,
    {
      context: { host: opts.hostName, hostIp: opts.hostIp, addressMode: opts.addressMode, network: opts.network, compat: opts.compat, pool: opts.pool },
      agentVersion: packageVersion(),
      resyncIntervalMs: opts.resyncInterval,
      // Retry often enough to re-register within one TTL of etcd's return.
      retryMaxMs: Math.min(5_000, Math.max(250, Math.floor(opts.ttl / 4))),
      keepLease: opts.keepLease,
    },
    metrics,
    logger,
  );

  // Registration first: the HTTP API (fastify and its OpenAPI plugin, the largest modules left to
  // load) comes up once the first sync has written (or failed), so it is not on the path from
  // spawn to registered. /readyz says "not ready" until that sync anyway.
  agent.start();
  let api: Awaited<ReturnType<typeof startApi>> | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await api?.close();
      await agent.stop(!opts.keepLease);
      etcd.close();
    })());
  options.onRunning?.(stop);

  try {
    await Promise.race([agent.firstSync, delay(API_AFTER_MS)]);
    // Stopped meanwhile (a signal during start-up): no API to start.
    if (stopping) return { address: '', agent, stop };
    api = await startApi(agent, registry, logger, common.api);
    const address = await api.listen(common.listen);
    logger.info({ api: address, host: opts.hostName, hostIp: opts.hostIp, pool: opts.pool, etcd: common.etcd.endpoints, compat: opts.compat }, 'agent started');
    return { address, agent, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The longest the API waits for the first sync (Docker or etcd may be down for long). */
const API_AFTER_MS = 1_000;

async function startApi(agent: Agent, registry: ReturnType<typeof createRegistry>, logger: Logger, access?: ApiAccess) {
  const [{ createApi, listen }, { agentRoutes }] = await Promise.all([import('../src/http.js'), import('./api.js')]);
  const app = await createApi({ title: 'fabric agent API', logger, registry, readiness: () => agent.readiness(), status: () => agent.status(), access });
  agentRoutes(app, agent);
  return { close: () => app.close(), listen: (where: string) => listen(app, where, access) };
}

/** The first non-internal IPv4 address, else loopback. */
function firstExternalIp(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  return '127.0.0.1';
}
