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
  const [clientPort, peerPort] = (await freePorts(2)) as [number, number];
  let tempDir: TempDir | undefined;
  const dataDir = opts.dataDir ?? (tempDir = makeTempDir('fabric-etcd-')).path;
  const server = new Etcd(opts, clientPort, peerPort, dataDir, tempDir);
  await server.start();
  return server;
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

  private args(): string[] {
    const client = this.endpoint;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const args = [
      `--name=${this.name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=${this.name}=${peer}`,
      `--initial-cluster-token=fabric-test-${this.clientPort}`,
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
