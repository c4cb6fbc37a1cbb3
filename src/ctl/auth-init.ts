import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { type Etcd3, Range } from 'etcd3';
import { describeError, FabricError } from '../errors.js';
import { connectEtcd, type EtcdOptions } from '../etcd.js';
import { explainEtcdError } from '../etcd-errors.js';
import { addEtcdOptions, etcdOptions, option, resolveOptions } from '../options.js';
import { readSecretFile } from '../secret-file.js';
import { writeStd } from '../stdio.js';
import { type AuthPlan, authPlan, parseHosts } from './auth-plan.js';

/** `fabric auth init --hosts a,b --out DIR`: least-privilege etcd users and roles, then auth on. */
export function authCommand(): Command {
  const init = new Command('init').description(
    'create the agent-<host>, router and operator users and roles on etcd and enable auth (run as root; again to add hosts)',
  );
  addEtcdOptions(init)
    .addOption(option('--hosts <hosts>', "agents' host names (their --host-name), comma-separated; required"))
    .addOption(option('--out <dir>', "directory for the new users' password files, DIR/<user> (mode 0600); required"))
    .action(async (_opts, cmd: Command) => runAuthInit(cmd));
  return new Command('auth').description('etcd users and roles for least privilege').addCommand(init);
}

export interface UserResult {
  user: string;
  /** created: a new user, its password in DIR/<user>; kept: it existed, its password untouched. */
  outcome: 'created' | 'kept';
}

async function runAuthInit(command: Command): Promise<void> {
  const { values } = resolveOptions(command);
  if (typeof values.hosts !== 'string') throw new FabricError('FABRIC_ERR_CONFIG', "--hosts is required (the agents' host names, comma-separated)");
  if (typeof values.out !== 'string') throw new FabricError('FABRIC_ERR_CONFIG', '--out DIR is required (where the password files go)');
  const target = etcdOptions(values);
  const results = await initAuth(target, authPlan(target.prefix, parseHosts(values.hosts)), values.out);
  for (const { user, outcome } of results) {
    writeStd(
      'stdout',
      outcome === 'created' ? `created user ${user} (password in ${join(values.out, user)})\n` : `kept user ${user} (it exists; password unchanged)\n`,
    );
  }
  writeStd('stdout', 'etcd auth is enabled\n');
}

/**
 * Applies `plan` on etcd as root: roles (re)granted, missing users created with a random password
 * written first to `out/<user>` (0600; a file left by an interrupted run is reused), existing
 * users kept. Auth is enabled last, so a run that fails midway leaves etcd as open as it found it.
 */
export async function initAuth(target: EtcdOptions, plan: AuthPlan, out: string): Promise<UserResult[]> {
  if (target.user !== 'root') throw new FabricError('FABRIC_ERR_CONFIG', "--etcd-user root is required: only etcd's root user may create users and roles");
  mkdirSync(out, { recursive: true, mode: 0o700 });
  chmodSync(out, 0o700);
  const { client, authWasOff, close } = await connectAsRoot(target);
  try {
    const users = new Set((await client.getUsers()).map((u) => u.name));
    const roles = new Set((await client.getRoles()).map((r) => r.name));
    if (authWasOff && !users.has('root')) {
      await client.user('root').create(target.password ?? '');
      await client.user('root').addRole('root');
    }
    const results: UserResult[] = [];
    for (const role of plan.roles) {
      if (!roles.has(role.name)) await client.role(role.name).create();
      await client.role(role.name).grant(role.grants.map((g) => ({ permission: g.permission, range: Range.prefix(g.prefix) })));
      if (users.has(role.name)) {
        results.push({ user: role.name, outcome: 'kept' });
      } else {
        await client.user(role.name).create(passwordFor(out, role.name));
        results.push({ user: role.name, outcome: 'created' });
      }
      await client.user(role.name).addRole(role.name);
    }
    if (authWasOff) await client.auth.authEnable();
    return results;
  } catch (err) {
    throw explainEtcdError(err, target);
  } finally {
    close();
  }
}

/** A new user's password: the one a previous, interrupted run wrote, else a new one, written before the user exists. */
function passwordFor(out: string, user: string): string {
  const file = join(out, user);
  if (existsSync(file)) return readSecretFile(file, `--out ${out}:`);
  const password = randomBytes(24).toString('base64url');
  writeFileSync(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
  return password;
}

/** A client as root; on an etcd whose auth is still off, one without credentials (etcd refuses to authenticate then). */
async function connectAsRoot(target: EtcdOptions): Promise<{ client: Etcd3; authWasOff: boolean; close: () => void }> {
  const withAuth = connectEtcd(target);
  try {
    await withAuth.client.getRoles();
    return { client: withAuth.client, authWasOff: false, close: withAuth.close };
  } catch (err) {
    withAuth.close();
    if (!/authentication is not enabled/i.test(describeError(err))) throw explainEtcdError(err, target);
  }
  if (!target.password) throw new FabricError('FABRIC_ERR_CONFIG', "etcd's auth is off: give root's new password with --etcd-password-file");
  const open = connectEtcd({ ...target, user: undefined, password: undefined });
  return { client: open.client, authWasOff: true, close: open.close };
}
