// An etcd with auth enabled the way operators do it: `fabric auth init` run as root, each user's
// password in a file. What the least-privilege tests share.
import fs from 'node:fs';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { expect } from 'vitest';
import { runFabric } from '../cli/support.js';
import type { EtcdServer } from '../harness/index.js';
import { type Resources, startEtcdFor } from './support.js';

export interface AuthEtcd {
  etcd: EtcdServer;
  /** A client as root (closed with the resources). */
  root: Etcd3;
  /** The directory `fabric auth init --out` wrote: one password file per user. */
  users: string;
  /** The flags that run a fabric command as `user`. */
  as(user: string): string[];
}

/** A fresh etcd, then `fabric auth init --hosts <hosts>` as root: users, roles, auth on. */
export async function startAuthEtcd(res: Resources, hosts: string[]): Promise<AuthEtcd> {
  const etcd = await startEtcdFor(res);
  const work = res.tempDir('fabric-auth-');
  const users = path.join(work, 'users');
  const rootPassword = 'root-pw-auth-support';
  const rootPasswordFile = path.join(work, 'root-password');
  fs.writeFileSync(rootPasswordFile, `${rootPassword}\n`, { mode: 0o600 });
  const init = await runFabric([
    'auth',
    'init',
    '--hosts',
    hosts.join(','),
    '--out',
    users,
    '--etcd',
    etcd.endpoint,
    '--etcd-user',
    'root',
    '--etcd-password-file',
    rootPasswordFile,
  ]);
  expect(init.stderr).toBe('');
  etcd.rootCredentials = { user: 'root', password: rootPassword };
  const root = new Etcd3(etcd.clientOptions(etcd.rootCredentials));
  res.defer(() => root.close());
  return { etcd, root, users, as: (user) => ['--etcd-user', user, '--etcd-password-file', path.join(users, user)] };
}
