// A real single-member etcd on 127.0.0.1 per test (or per file): plain, TLS, with client-cert auth.
// restart() keeps ports and data so "etcd goes away and comes back" can be tested.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { IOptions } from 'etcd3';
import { execa } from 'execa';
import { freePorts } from './ports.js';
import { type ManagedProcess, startProcess, waitUntilReady } from './processes.js';
import { makeTempDir, type TempDir } from './temp.js';
import type { TlsMaterial } from './tls.js';
import { waitFor } from './wait.js';

export const ETCD_BIN = '/usr/bin/etcd';
export const ETCDCTL_BIN = '/usr/bin/etcdctl';

export interface EtcdOptions {
  /** Serve clients over https with these certificates. */
  tls?: TlsMaterial;
  /** Require a client certificate signed by tls.caFile. */
  clientCertAuth?: boolean;
  name?: string;
  /** Use (and keep) this data dir instead of a temporary one. */
  dataDir?: string;
  /** Extra etcd flags, e.g. ['--auto-compaction-retention=1']. */
  extraArgs?: string[];
  /** A member of a cluster (startEtcdCluster): its ports and every member's `name=peerURL`. */
  member?: { clientPort: number; peerPort: number; initialCluster: string; token: string };
}

export interface Credentials {
  user: string;
  password: string;
}

export interface EtcdctlOptions {
  /** 'name:password'; false for no credentials. Default: the root credentials once enableAuth ran. */
  user?: string | false;
}

export interface EtcdServer {
  readonly name: string;
  /** Client URL, e.g. http://127.0.0.1:41234 (https when tls). */
  readonly endpoint: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  readonly tls: TlsMaterial | undefined;
  /** The current etcd process (changes on restart). */
  readonly process: ManagedProcess;
  readonly pid: number;
  /** Root credentials, set by enableAuth; etcdctl() uses them by default. */
  rootCredentials: Credentials | undefined;
  isRunning(): boolean;
  /** Starts etcd again after stop({keepData: true}) or kill9(), on the same ports and data dir. */
  start(): Promise<void>;
  /** SIGTERM; also deletes a temporary data dir unless keepData. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
  /** Crash: SIGKILL, data kept. */
  kill9(): Promise<void>;
  restart(): Promise<void>;
  etcdctl(args: string[], opts?: EtcdctlOptions): Promise<string>;
  /** Options for the `etcd3` client, TLS files and (optionally) credentials filled in. */
  clientOptions(auth?: Credentials): IOptions;
}

const running = new Set<EtcdServer>();

export async function startEtcd(opts: EtcdOptions = {}): Promise<EtcdServer> {
  const server = await createEtcd(opts);
  await server.start();
  return server;
}

async function createEtcd(opts: EtcdOptions): Promise<Etcd> {
  const [clientPort, peerPort] = opts.member ? [opts.member.clientPort, opts.member.peerPort] : ((await freePorts(2)) as [number, number]);
  let tempDir: TempDir | undefined;
  const dataDir = opts.dataDir ?? (tempDir = makeTempDir('fabric-etcd-')).path;
  return new Etcd(opts, clientPort, peerPort, dataDir, tempDir);
}

/** A cluster of etcd members on loopback, each a process of its own (stop, kill9 and start them one by one). */
export interface EtcdCluster {
  readonly members: EtcdServer[];
  /** Every member's client URL, comma-separated: what fabric's --etcd takes. */
  readonly endpoint: string;
  readonly tls: undefined;
  /** The member that leads now (asked of every running member; they must agree). */
  leader(): Promise<EtcdServer>;
  /** Waits until the running members agree on a leader (after one was killed). */
  waitLeader(timeoutMs?: number): Promise<EtcdServer>;
  stop(): Promise<void>;
}

export async function startEtcdCluster(size: number, opts: Pick<EtcdOptions, 'extraArgs'> = {}): Promise<EtcdCluster> {
  const ports = await freePorts(size * 2);
  const token = `fabric-test-cluster-${ports[0]}`;
  const names = Array.from({ length: size }, (_, i) => `etcd${i}`);
  const initialCluster = names.map((name, i) => `${name}=http://127.0.0.1:${ports[i * 2 + 1]}`).join(',');
  const members = await Promise.all(
    names.map((name, i) => createEtcd({ ...opts, name, member: { clientPort: ports[i * 2]!, peerPort: ports[i * 2 + 1]!, initialCluster, token } })),
  );
  try {
    // Together: a member is healthy only once a quorum has elected a leader.
    await Promise.all(members.map((m) => m.start()));
  } catch (error) {
    await Promise.all(members.map((m) => m.stop()));
    throw error;
  }
  return new Cluster(members);
}

class Cluster implements EtcdCluster {
  readonly tls = undefined;

  constructor(readonly members: Etcd[]) {}

  get endpoint(): string {
    return this.members.map((m) => m.endpoint).join(',');
  }

  async leader(): Promise<EtcdServer> {
    const statuses = await Promise.all(this.members.filter((m) => m.isRunning()).map((m) => m.status().catch(() => undefined)));
    const leaders = new Set(statuses.filter((s) => s !== undefined && s.leader !== '0').map((s) => s!.leader));
    const [leaderId] = [...leaders];
    const leader = leaders.size === 1 ? statuses.find((s) => s?.memberId === leaderId) : undefined;
    if (!leader) throw new Error(`no agreed leader among the running members: ${JSON.stringify(statuses)}`);
    return this.members.find((m) => m.name === leader.name)!;
  }

  async waitLeader(timeoutMs = 15_000): Promise<EtcdServer> {
    return waitFor(() => this.leader().catch(() => undefined), { timeoutMs, what: 'the etcd members to agree on a leader' });
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }
}

/** Stops every etcd started by this module (for afterAll hooks that want a safety net). */
export async function stopAllEtcd(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
}

class Etcd implements EtcdServer {
  readonly name: string;
  readonly endpoint: string;
  readonly tls: TlsMaterial | undefined;
  rootCredentials: Credentials | undefined;
  private current: ManagedProcess | undefined;

  constructor(
    private readonly opts: EtcdOptions,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly dataDir: string,
    /** Set when the harness made the data dir, and so deletes it. */
    private readonly tempDir: TempDir | undefined,
  ) {
    this.name = opts.name ?? 'etcd';
    this.tls = opts.tls;
    this.endpoint = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  }

  get process(): ManagedProcess {
    if (!this.current) throw new Error(`${this.name} was never started`);
    return this.current;
  }

  get pid(): number {
    return this.process.pid;
  }

  isRunning(): boolean {
    return this.current?.isRunning() ?? false;
  }

  async start(): Promise<void> {
    if (this.isRunning()) throw new Error(`${this.name} is already running (pid ${this.pid})`);
    this.current = startProcess(ETCD_BIN, this.args(), { name: this.name });
    running.add(this);
    try {
      await waitUntilReady(this.current, () => this.healthy(), {
        timeoutMs: 20_000,
        what: `${this.name} ${this.endpoint}/health`,
      });
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  async stop(opts: { keepData?: boolean } = {}): Promise<void> {
    await this.current?.stop('SIGTERM', 5_000);
    if (opts.keepData) return;
    running.delete(this);
    this.tempDir?.remove();
  }

  async kill9(): Promise<void> {
    await this.current?.kill9();
  }

  async restart(): Promise<void> {
    await this.stop({ keepData: true });
    await this.start();
  }

  async etcdctl(args: string[], opts: EtcdctlOptions = {}): Promise<string> {
    const creds = this.rootCredentials ? `${this.rootCredentials.user}:${this.rootCredentials.password}` : false;
    const user = opts.user ?? creds;
    const flags = [`--endpoints=${this.endpoint}`, '--dial-timeout=3s', '--command-timeout=10s'];
    if (this.tls) {
      flags.push(`--cacert=${this.tls.caFile}`, `--cert=${this.tls.clientCertFile}`, `--key=${this.tls.clientKeyFile}`);
    }
    if (user) flags.push(`--user=${user}`);
    const result = await execa(ETCDCTL_BIN, [...flags, ...args], { env: { ETCDCTL_API: '3' } });
    return result.stdout;
  }

  clientOptions(auth?: Credentials): IOptions {
    const options: IOptions = { hosts: this.endpoint };
    if (this.tls) {
      options.credentials = {
        rootCertificate: fs.readFileSync(this.tls.caFile),
        certChain: fs.readFileSync(this.tls.clientCertFile),
        privateKey: fs.readFileSync(this.tls.clientKeyFile),
      };
    }
    if (auth) options.auth = { username: auth.user, password: auth.password };
    return options;
  }

  /** `etcdctl endpoint status` of this member alone: its id, and the id of the leader it follows. */
  async status(): Promise<{ name: string; memberId: string; leader: string }> {
    // Member ids are uint64: read them as text, JSON numbers would lose digits.
    const text = await this.etcdctl(['endpoint', 'status', '-w', 'json']);
    const memberId = /"member_id":(\d+)/.exec(text)?.[1];
    const leader = /"leader":(\d+)/.exec(text)?.[1];
    if (!memberId || !leader) throw new Error(`${this.name}: unexpected endpoint status ${text.slice(0, 200)}`);
    return { name: this.name, memberId, leader };
  }

  private args(): string[] {
    const client = this.endpoint;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const member = this.opts.member;
    const args = [
      `--name=${this.name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=${member?.initialCluster ?? `${this.name}=${peer}`}`,
      `--initial-cluster-token=${member?.token ?? `fabric-test-${this.clientPort}`}`,
      '--initial-cluster-state=new',
      '--logger=zap',
      '--log-outputs=stderr',
    ];
    if (this.tls) {
      args.push(`--cert-file=${this.tls.certFile}`, `--key-file=${this.tls.keyFile}`, `--trusted-ca-file=${this.tls.caFile}`);
      if (this.opts.clientCertAuth) args.push('--client-cert-auth');
    }
    return [...args, ...(this.opts.extraArgs ?? [])];
  }

  /** GET /health; over TLS it presents the client certificate, which client-cert-auth requires. */
  private healthy(): Promise<boolean> {
    const url = `${this.endpoint}/health`;
    return new Promise((resolve, reject) => {
      const onResponse = (res: http.IncomingMessage) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(res.statusCode === 200 && isHealthy(body)));
        res.on('error', reject);
      };
      const req = this.tls
        ? https.get(
            url,
            {
              ca: fs.readFileSync(this.tls.caFile),
              cert: fs.readFileSync(this.tls.clientCertFile),
              key: fs.readFileSync(this.tls.clientKeyFile),
              agent: false,
            },
            onResponse,
          )
        : http.get(url, { agent: false }, onResponse);
      req.setTimeout(1_000, () => req.destroy(new Error(`GET ${url} timed out`)));
      req.on('error', reject);
    });
  }
}

function isHealthy(body: string): boolean {
  try {
    return (JSON.parse(body) as { health?: unknown }).health === 'true';
  } catch {
    return false;
  }
}
