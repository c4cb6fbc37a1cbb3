// etcd authentication, set up the way an operator would with etcdctl. etcd refuses `auth enable`
// until a root user exists, and afterwards every etcdctl call needs credentials: the harness keeps
// root's on the EtcdServer so later etcdctl() calls keep working.
import type { Credentials, EtcdServer } from './etcd.js';

export interface EnableAuthOptions {
  /** Default: 'fabric-root-pw'. */
  rootPassword?: string;
  /** Key prefix the user may read and write. Default '/'. */
  prefix?: string;
  role?: string;
}

export async function enableAuth(etcd: EtcdServer, user: string, password: string, opts: EnableAuthOptions = {}): Promise<Credentials> {
  const root: Credentials = { user: 'root', password: opts.rootPassword ?? 'fabric-root-pw' };
  const role = opts.role ?? 'fabric';
  const ctl = (args: string[]) => etcd.etcdctl(args, { user: false });
  await ctl(['user', 'add', `${root.user}:${root.password}`]);
  await ctl(['user', 'add', `${user}:${password}`]);
  await ctl(['role', 'add', role]);
  await ctl(['role', 'grant-permission', role, '--prefix=true', 'readwrite', opts.prefix ?? '/']);
  await ctl(['user', 'grant-role', user, role]);
  await ctl(['auth', 'enable']);
  etcd.rootCredentials = root;
  return root;
}
