// Helpers for the `kind: nginx` end-to-end tests (nginx.test.ts, nginx-adopt.test.ts): the real
// `fabric router` with an nginx target, what its nginx runs (config, upstreams, pids, control
// server), and a cleanup that leaves no nginx behind, whatever the router's `--lb-on-exit`.
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { servedVersion } from '../../lb/nginx/control.js';
import { readPeers } from '../../lb/nginx/dynamic/control.js';
import { luaModules } from '../../lb/nginx/dynamic/module.js';
import { childPids, isNginx } from '../../lb/nginx/procfs.js';
import { assertBuilt, type EtcdServer, type ExitResult, freePorts, type ManagedProcess } from '../harness/index.js';
import { DOMAIN, type HttpResult, httpGet, launchRouter, type Resources, RouterProcess, waitFor, writeRouterConfig } from './support.js';

// support.ts checks the build of lb/ and src/; the nginx driver's own directory is checked here.
assertBuilt(['lb/nginx']);

export interface NginxRouterOptions {
  template?: string;
  minReloadInterval?: string;
  /** Also run a managed HAProxy target in the same router. */
  haproxy?: boolean;
  /** Run on the config, directory and ports of an earlier (stopped) router. */
  from?: NginxRouter;
  /** nginx's HTTP port (default: a free one, or `from`'s). */
  nginxPort?: number;
  /** The router's `domain` (default apps.test). */
  domain?: string;
  /** What the router's exit does to its nginx (router.yaml `lbOnExit`; the router's default is keep). */
  lbOnExit?: 'keep' | 'stop';
  /** Point the router at this etcd URL instead of the test's etcd (e.g. one that does not answer). */
  etcdUrl?: string;
  /** Wait for /readyz 200 (default) or only for /healthz. */
  waitReady?: boolean;
  /** Also an HTTPS listener (`https:`) on a free port: `router.httpsPort`. */
  https?: boolean;
  /** More router.yaml keys (e.g. tls), merged over the defaults. */
  config?: Record<string, unknown>;
  /** The target's `dynamic` (run-time upstreams); default: FABRIC_TEST_NGINX_DYNAMIC=0 forces false, else the router's default. */
  dynamic?: boolean;
  /** More keys of the nginx target itself (e.g. modulesDir). */
  nginx?: Record<string, unknown>;
}

/** Whether nginx tests run with run-time upstreams (the Lua module installed, not forced off). */
export function dynamicByDefault(): boolean {
  return process.env.FABRIC_TEST_NGINX_DYNAMIC !== '0' && luaModules('/usr/lib/nginx/modules') !== undefined;
}

export class NginxRouter extends RouterProcess {
  /** nginx pids seen (master and workers), checked after the router stops. */
  private readonly nginxPids = new Set<number>();
  /** nginx's HTTPS listener, when started with `https: true` (or `from` one). */
  httpsPort: number | undefined;
  protected override applyTimeoutMs = 15_000;

  constructor(
    proc: ManagedProcess,
    url: string,
    /** Whether endpoint changes reach this nginx at run time (its peers in the shared dict, not the config). */
    readonly dynamic: boolean,
    readonly nginxPort: number,
    /** The nginx target's directory: nginx.conf, run/, logs/, tmp/. */
    readonly dir: string,
    readonly haproxyPort: number | undefined,
    configFile: string,
  ) {
    super(proc, url, configFile);
  }

  async target(name = 'nginx'): Promise<any> {
    return ((await this.status()).targets as any[]).find((t) => t.name === name);
  }

  request(host: string, pathname = '/', opts: { timeoutMs?: number; agent?: http.Agent } = {}): Promise<HttpResult> {
    return httpGet(this.nginxPort, host, pathname, opts);
  }

  requestHaproxy(host: string, pathname = '/'): Promise<HttpResult> {
    if (!this.haproxyPort) throw new Error('no HAProxy target in this router');
    return httpGet(this.haproxyPort, host, pathname);
  }

  config(): string {
    return fs.readFileSync(path.join(this.dir, 'nginx.conf'), 'utf8');
  }

  /**
   * `address:port weight=W` of every peer `upstream <name>` sends requests to, sorted: from what nginx's
   * shared dict holds (dynamic: weight > 0, not draining, healthy), else from the config on disk.
   */
  async upstream(service: string, name = `svc_${service}`): Promise<string[]> {
    if (this.dynamic)
      return (await this.peers(name))
        .filter((p) => p.serving)
        .map((p) => `${p.target} weight=${p.weight}`)
        .sort();
    const block = new RegExp(`upstream ${name} \\{([^}]*)\\}`).exec(this.config());
    if (!block) return [];
    return [...block[1]!.matchAll(/server (\S+) weight=(\d+)/g)].map((m) => `${m[1]} weight=${m[2]}`).sort();
  }

  /** Every peer of `upstream <name>` in nginx's shared dict (dynamic only), as its control socket reads back. */
  async peers(name: string): Promise<Array<{ target: string; weight: number; drain: boolean; healthy: boolean; serving: boolean }>> {
    const text = await readPeers(path.join(this.dir, 'run/control.sock'));
    const block = text.split('\nupstream ').find((b) => b.startsWith(`${name} `));
    if (!block) return [];
    return block
      .split('\n')
      .slice(1)
      .filter((l) => l.trim() !== '' && !l.startsWith('host '))
      .map((line) => {
        const [host, port, weight, drain, healthy] = line.split(' ') as [string, string, string, string, string];
        const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
        return {
          target,
          weight: Number(weight),
          drain: drain === '1',
          healthy: healthy === '1',
          serving: Number(weight) > 0 && drain === '0' && healthy === '1',
        };
      });
  }

  /** Whether nginx's workers run the config on disk: its control server answers with the version written in it. */
  async servesConfigOnDisk(): Promise<boolean> {
    const written = /return 200 "([0-9a-f]+)\\n";/.exec(this.config())?.[1];
    return written !== undefined && (await servedVersion(path.join(this.dir, 'run/control.sock'))) === written;
  }

  /** nginx's own reload count: the master logs "reconfiguring" once per SIGHUP it acts on. */
  reconfigurations(): number {
    const log = fs.readFileSync(path.join(this.dir, 'logs/error.log'), 'utf8');
    return log.split('\n').filter((l) => /\[notice\] \d+#\d+: reconfiguring$/.test(l)).length;
  }

  masterPid(): number {
    const pid = Number(fs.readFileSync(path.join(this.dir, 'run/nginx.pid'), 'utf8').trim());
    this.nginxPids.add(pid);
    return pid;
  }

  /** The master's children, by their process titles ("nginx: worker process [is shutting down]"). */
  workers(): Array<{ pid: number; title: string }> {
    const master = this.masterPid();
    return childPids(master).map((pid) => {
      this.nginxPids.add(pid);
      let title = '';
      try {
        title = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      } catch {
        // exited meanwhile
      }
      return { pid, title };
    });
  }

  /** Live nginx masters running this router's config (`-c <dir>/nginx.conf` in their title), whoever started them. */
  masters(): number[] {
    return nginxMastersOf(path.join(this.dir, 'nginx.conf'));
  }

  /** Ends the router process only (SIGTERM: as `--lb-on-exit` says; SIGKILL: a crash); its nginx is left to it. */
  async exit(signal: 'SIGTERM' | 'SIGKILL'): Promise<ExitResult> {
    try {
      this.workers(); // remember the pids for the cleanup
    } catch {
      // no nginx running
    }
    return signal === 'SIGKILL' ? this.proc.kill9() : this.proc.stop('SIGTERM', 15_000);
  }

  /**
   * Cleanup: SIGTERM, then stops every nginx still running this config or seen by this object
   * (one the router keeps on exit, or one it adopted), by pid. Returns the pids it had to stop.
   */
  async stop(): Promise<number[]> {
    await this.exit('SIGTERM');
    const survivors = [...new Set([...this.nginxPids, ...this.masters()])].filter(isNginx);
    await stopNginx(survivors);
    return survivors;
  }
}

/** Starts a router with an nginx target (in a fresh directory, or `from`'s); waits for /readyz 200 unless told. */
export async function startNginxRouter(res: Resources, etcd: EtcdServer, opts: NginxRouterOptions = {}): Promise<NginxRouter> {
  const [apiPort, freshNginxPort, freshHaproxyPort, freshHttpsPort] = (await freePorts(4)) as [number, number, number, number];
  const httpsPort = opts.from?.httpsPort ?? (opts.https ? freshHttpsPort : undefined);
  const nginxPort = opts.nginxPort ?? opts.from?.nginxPort ?? freshNginxPort;
  const haproxyPort = opts.from ? opts.from.haproxyPort : opts.haproxy ? freshHaproxyPort : undefined;
  const dir = opts.from?.dir ?? path.join(res.tempDir('fabric-nginx-'), 'nginx');
  const dynamic = opts.dynamic ?? (opts.from ? opts.from.dynamic : dynamicByDefault());
  const configFile = writeNginxRouterConfig(dir, nginxPort, haproxyPort, httpsPort, { ...opts, dynamic });
  const router = await launchRouter(res, configFile, (proc, url) => new NginxRouter(proc, url, dynamic, nginxPort, dir, haproxyPort, configFile), {
    etcdUrl: opts.etcdUrl ?? etcd.endpoint,
    name: 'nginx-router',
    apiPort,
    // The router's own default, unlike the other router tests' `stop`: these tests are about the hand-over.
    lbOnExit: opts.lbOnExit ?? 'keep',
  });
  router.httpsPort = httpsPort;
  await router.waitStarted(opts.waitReady !== false);
  if (opts.waitReady !== false) router.workers(); // remember nginx's pids
  return router;
}

/** router.yaml next to `dir`: the nginx target in `dir` (and a HAProxy target, given its port). */
function writeNginxRouterConfig(
  dir: string,
  nginxPort: number,
  haproxyPort: number | undefined,
  httpsPort: number | undefined,
  opts: NginxRouterOptions,
): string {
  const work = path.dirname(dir);
  fs.mkdirSync(work, { recursive: true });
  const nginx: Record<string, unknown> = { kind: 'nginx', name: 'nginx', http: `127.0.0.1:${nginxPort}`, dest: path.join(dir, 'nginx.conf') };
  if (opts.template) nginx.template = opts.template;
  if (opts.minReloadInterval) nginx.minReloadInterval = opts.minReloadInterval;
  if (opts.dynamic === false) nginx.dynamic = false;
  Object.assign(nginx, opts.nginx);
  if (httpsPort) nginx.https = `127.0.0.1:${httpsPort}`;
  const targets = [nginx];
  if (haproxyPort) targets.push({ kind: 'haproxy', name: 'haproxy', http: `127.0.0.1:${haproxyPort}`, dest: path.join(work, 'haproxy/haproxy.cfg') });
  return writeRouterConfig(work, {
    domain: opts.domain ?? DOMAIN,
    debounce: { min: '20ms', max: '500ms' },
    targets,
    ...(opts.lbOnExit ? { lbOnExit: opts.lbOnExit } : {}),
    ...opts.config,
  });
}

/** Until `n` requests to `host` give exactly the bodies in `expected` (as a set). */
export async function waitBodies(router: NginxRouter, host: string, expected: string[], timeoutMs = 15_000): Promise<void> {
  const want = [...new Set(expected)].sort().join(',');
  await waitFor(
    async () => {
      const seen = new Set<string>();
      for (let i = 0; i < Math.max(6, expected.length * 4); i++) {
        const r = await router.request(host);
        seen.add(r.status === 200 ? r.body : `HTTP ${r.status}`);
      }
      return [...seen].sort().join(',') === want;
    },
    { timeoutMs, what: `${host} served through nginx by exactly ${want}` },
  );
}

/** Pids of live nginx masters whose title names `-c <config>` (read from /proc, independently of the driver). */
export function nginxMastersOf(config: string): number[] {
  const masters: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let title: string;
    try {
      title = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0+/g, ' ');
    } catch {
      continue;
    }
    if (title.startsWith('nginx: master process') && title.includes(` -c ${config} `)) masters.push(Number(entry));
  }
  return masters;
}

/** QUIT, then KILL after 5 s, of each pid that is still an nginx; waits until all are gone. */
export async function stopNginx(pids: number[]): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    for (const pid of pids.filter(isNginx)) {
      try {
        process.kill(pid, sig);
      } catch {
        // gone meanwhile
      }
    }
  };
  signal('SIGQUIT');
  const gone = await waitFor(() => !pids.some(isNginx), { timeoutMs: 5_000, what: 'nginx gone after SIGQUIT' }).catch(() => false);
  if (gone) return;
  signal('SIGKILL');
  await waitFor(() => !pids.some(isNginx), { timeoutMs: 5_000, what: `nginx ${pids.join(' ')} gone after SIGKILL` });
}
