// The built `fabric` command line, as the end-to-end tests drive it: where it is, a check that the
// build is not older than its sources, and `fabric agent` as a child process with its API.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testDocker } from './context.js';
import type { Credentials, EtcdServer } from './etcd.js';
import { getJson, type JsonResult } from './http.js';
import { metricValue } from './metrics.js';
import { freePort } from './ports.js';
import { type ExitResult, type ManagedProcess, startProcess, waitUntilReady } from './processes.js';
import type { WaitOptions } from './wait.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'dist/src/cli.js');

/** The tests drive the built command line: refuse to test a stale build of the sources in `dirs`. */
export function assertBuilt(dirs: string[]): void {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  for (const dir of dirs) {
    for (const file of fs.readdirSync(path.join(ROOT, dir))) {
      if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
      const built = path.join(ROOT, 'dist', dir, file.replace(/\.ts$/, '.js'));
      const source = path.join(ROOT, dir, file);
      if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < fs.statSync(source).mtimeMs) {
        throw new Error(`${path.relative(ROOT, built)} is older than ${dir}/${file}: run \`npm run build\` first`);
      }
    }
  }
}

// ---------------------------------------------------------------- fabric agent

export interface AgentOptions {
  hostName?: string;
  hostIp?: string;
  /** --etcd-prefix; default /fabric. */
  prefix?: string;
  ttl?: string;
  resyncInterval?: string;
  keepLease?: boolean;
  addressMode?: 'published' | 'container' | 'host';
  network?: string;
  /** --docker; default the test engine. */
  docker?: string;
  /** TLS flags are derived from etcd.tls; credentials come from here. */
  auth?: Credentials;
  extraArgs?: string[];
  /** Wait for /readyz 200 (default) or only for the API to answer. */
  waitReady?: boolean;
  /** The API token the harness sends (the one in the agent's --api-token-file, passed in extraArgs). */
  apiToken?: string;
}

/** A fabric process (agent, router) and its HTTP API. */
export class FabricProcess {
  /** The API token (its --api-token-file) that `get` sends; none: no Authorization header. */
  apiToken: string | undefined;

  constructor(
    readonly proc: ManagedProcess,
    readonly url: string,
  ) {}

  get(pathname: string): Promise<JsonResult> {
    return getJson(`${this.url}${pathname}`, this.apiToken);
  }

  async status(): Promise<any> {
    return (await this.get('/v1/status')).json;
  }

  /**
   * Whether the API at `url` is this process's: a port picked free can be taken by another
   * process before ours binds it, and its 200 must not pass for ours.
   */
  async answersItself(): Promise<boolean> {
    const res = await this.get('/healthz');
    return res.status === 200 && res.json?.pid === this.proc.pid;
  }

  async isReady(): Promise<boolean> {
    return (await this.answersItself()) && (await this.get('/readyz')).status === 200;
  }

  async metricsText(): Promise<string> {
    const res = await this.get('/metrics');
    if (res.status !== 200) throw new Error(`/metrics: HTTP ${res.status}`);
    return res.text;
  }
}

export class RunningAgent extends FabricProcess {
  constructor(
    proc: ManagedProcess,
    url: string,
    readonly hostName: string,
    readonly prefix: string,
  ) {
    super(proc, url);
  }

  async endpoints(): Promise<any> {
    return (await this.get('/v1/endpoints')).json;
  }

  async waitReady(opts: WaitOptions = {}): Promise<void> {
    await waitUntilReady(this.proc, () => this.isReady().catch(() => false), {
      timeoutMs: 15_000,
      what: `agent ${this.hostName} /readyz 200`,
      ...opts,
    });
  }

  /** Waits for /readyz 200, or (`ready` false) only for the API to answer /healthz. */
  async waitStarted(ready = true): Promise<void> {
    if (ready) return this.waitReady();
    await waitUntilReady(this.proc, () => this.answersItself().catch(() => false), {
      timeoutMs: 15_000,
      what: `agent ${this.hostName} /healthz`,
    });
  }

  /** The agent's lease id as etcd prints it (decimal). */
  async leaseId(): Promise<string> {
    const status = await this.status();
    const id = status?.lease?.id;
    if (!id) throw new Error(`agent has no lease: ${JSON.stringify(status?.lease)}`);
    return String(id);
  }

  /** The value of one series; `labels` must all match (others, like component, are ignored). */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return metricValue(await this.metricsText(), name, labels);
  }

  /** The agent's JSON log lines. */
  logs(): Array<Record<string, any>> {
    return this.proc.lines().flatMap((line) => {
      try {
        const parsed = JSON.parse(line);
        return parsed && typeof parsed === 'object' ? [parsed] : [];
      } catch {
        return [];
      }
    });
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitResult> {
    return this.proc.stop(signal, 12_000);
  }

  kill9(): Promise<ExitResult> {
    return this.proc.kill9();
  }
}

/**
 * Starts `fabric agent` (the built CLI, debug logs) against `etcd` and the test engine on a free
 * port, and returns at once: the caller registers its stop, then awaits `waitStarted()`.
 */
/** What an agent or router needs of etcd: its URL(s) and, when served over TLS, the certificates. */
export type EtcdEndpoint = Pick<EtcdServer, 'endpoint' | 'tls'>;

export async function launchAgent(etcd: EtcdEndpoint, hostName: string, opts: AgentOptions = {}): Promise<RunningAgent> {
  const listen = `127.0.0.1:${await freePort()}`;
  const prefix = opts.prefix ?? '/fabric';
  const proc = startProcess(process.execPath, agentArgs(etcd, listen, hostName, { ...opts, prefix }), {
    name: `agent-${hostName}`,
    cwd: ROOT,
    env: { FABRIC_LOG_LEVEL: 'debug' },
  });
  const agent = new RunningAgent(proc, `http://${listen}`, hostName, prefix);
  agent.apiToken = opts.apiToken;
  return agent;
}

function agentArgs(etcd: EtcdEndpoint, listen: string, hostName: string, opts: AgentOptions & { prefix: string }): string[] {
  const args = [
    CLI,
    'agent',
    '--etcd',
    etcd.endpoint,
    '--docker',
    opts.docker ?? testDocker().dockerHost,
    '--host-ip',
    opts.hostIp ?? '127.0.0.1',
    '--host-name',
    hostName,
    '--listen',
    listen,
    '--etcd-prefix',
    opts.prefix,
    '--ttl',
    opts.ttl ?? '15s',
    '--resync-interval',
    opts.resyncInterval ?? '30s',
  ];
  if (opts.keepLease) args.push('--keep-lease');
  if (opts.addressMode) args.push('--address-mode', opts.addressMode);
  if (opts.network) args.push('--network', opts.network);
  if (etcd.tls) {
    args.push('--etcd-cacert', etcd.tls.caFile, '--etcd-cert', etcd.tls.clientCertFile, '--etcd-key', etcd.tls.clientKeyFile);
  }
  if (opts.auth) args.push('--etcd-user', opts.auth.user, '--etcd-password', opts.auth.password);
  return [...args, ...(opts.extraArgs ?? [])];
}
