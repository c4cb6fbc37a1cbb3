// Helpers for the command-line tests: the built `fabric` CLI as a child process, one real etcd per
// file with a keyspace (--etcd-prefix) of its own per test, and an etcd3 client to check what landed.
import fs from 'node:fs';
import path from 'node:path';
import { Etcd3, type IKeyValue } from 'etcd3';
import { execa } from 'execa';
import { afterAll, beforeAll } from 'vitest';
import { assertBuilt, CLI, type EtcdServer, startEtcd } from '../harness/index.js';

assertBuilt(['src/ctl']);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Cluster {
  etcd: EtcdServer;
  client: Etcd3;
  /** A fresh --etcd-prefix for the calling test. */
  newPrefix(): string;
}

let prefixCounter = 0;

/** One etcd (and one client) for the whole file; each test takes a prefix of its own. */
export function useCluster(): () => Cluster {
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    const etcd = await startEtcd();
    cluster = { etcd, client: new Etcd3(etcd.clientOptions()), newPrefix: () => `/fabric-cli-${++prefixCounter}` };
  });
  afterAll(async () => {
    cluster?.client.close();
    await cluster?.etcd.stop();
  });
  return () => {
    if (!cluster) throw new Error('etcd is not running');
    return cluster;
  };
}

/** Runs `fabric <args> --etcd <etcd> --etcd-prefix <prefix>` to completion. */
export async function fabric(cluster: Cluster, prefix: string, args: string[], input?: string, env: Record<string, string> = {}): Promise<CliResult> {
  return runFabric([...args, '--etcd', cluster.etcd.endpoint, '--etcd-prefix', prefix], { input, env });
}

/** Runs `fabric <args>` as given, with `env` added to (and overriding) the test's environment. */
export async function runFabric(args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const result = await execa(process.execPath, [CLI, ...args], {
    reject: false,
    timeout: opts.timeoutMs ?? 30_000,
    input: opts.input ?? '',
    env: { NO_COLOR: '1', ...opts.env },
  });
  return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Every key under `prefix` (relative to it), with its revisions. */
export async function keysUnder(cluster: Cluster, prefix: string): Promise<Map<string, IKeyValue>> {
  const response = await cluster.client.namespace(`${prefix}/`).getAll().exec();
  return new Map(response.kvs.map((kv) => [kv.key.toString(), kv]));
}

export async function putAll(cluster: Cluster, prefix: string, entries: Record<string, string>): Promise<void> {
  const kv = cluster.client.namespace(`${prefix}/`);
  await Promise.all(Object.entries(entries).map(([key, value]) => kv.put(key).value(value).exec()));
}

export function writeTemp(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}
