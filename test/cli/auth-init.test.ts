// `fabric auth init` on a real etcd: least-privilege users and roles, auth enabled, passwords in
// 0600 files, idempotent. Each user is then tried on the keys it may and may not write.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Etcd3, EtcdPermissionDeniedError } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FabricError } from '../../src/errors.js';
import { explainEtcdError } from '../../src/etcd-errors.js';
import { type EtcdServer, startEtcd } from '../harness/index.js';
import { runFabric } from './support.js';

const ROOT_PASSWORD = 'root-pw-for-auth-init';
let etcd: EtcdServer;
let work: string;
const clients: Etcd3[] = [];

beforeAll(async () => {
  etcd = await startEtcd();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-auth-init-'));
  fs.writeFileSync(path.join(work, 'root-password'), `${ROOT_PASSWORD}\n`, { mode: 0o600 });
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await etcd?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const out = () => path.join(work, 'users');

function authInit(hosts: string) {
  return runFabric([
    'auth',
    'init',
    '--hosts',
    hosts,
    '--out',
    out(),
    '--etcd',
    etcd.endpoint,
    '--etcd-user',
    'root',
    '--etcd-password-file',
    path.join(work, 'root-password'),
  ]);
}

/** An etcd3 client as `user`, with the password `fabric auth init` wrote for it. */
function clientAs(user: string): Etcd3 {
  const password = fs.readFileSync(path.join(out(), user), 'utf8').trim();
  const client = new Etcd3({ ...etcd.clientOptions({ user, password }), dialTimeout: 3_000 });
  clients.push(client);
  return client;
}

/** The error etcd gives `client` writing `key`, as fabric explains it; undefined when the write succeeds. */
async function writeError(client: Etcd3, key: string): Promise<FabricError | undefined> {
  try {
    await client.put(key).value('{}');
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(EtcdPermissionDeniedError);
    const explained = explainEtcdError(err, { prefix: '/fabric', endpoints: [etcd.endpoint] });
    expect(explained).toBeInstanceOf(FabricError);
    return explained as FabricError;
  }
}

describe('fabric auth init', () => {
  it('creates a user and role per agent, a router and an operator, enables auth, prints no password', async () => {
    const result = await authInit('hostA,hostB');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split('\n')).toEqual([
      `created user agent-hostA (password in ${out()}/agent-hostA)`,
      `created user agent-hostB (password in ${out()}/agent-hostB)`,
      `created user router (password in ${out()}/router)`,
      `created user operator (password in ${out()}/operator)`,
      'etcd auth is enabled',
    ]);
    expect(fs.statSync(out()).mode & 0o777).toBe(0o700);
    for (const user of ['agent-hostA', 'agent-hostB', 'router', 'operator']) {
      const file = path.join(out(), user);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const password = fs.readFileSync(file, 'utf8').trim();
      expect(password.length).toBeGreaterThanOrEqual(32);
      expect(result.stdout).not.toContain(password);
    }
    // Auth is on: no credentials, no access.
    const anonymous = new Etcd3({ ...etcd.clientOptions(), dialTimeout: 3_000 });
    clients.push(anonymous);
    await expect(anonymous.put('/fabric/services/x').value('{}')).rejects.toThrow(/user name is empty|permission denied/i);
  });

  it("an agent writes its host's keys only: not another host's, a spec, a VIP or a route", async () => {
    const agent = clientAs('agent-hostA');
    expect(await writeError(agent, '/fabric/hosts/hostA/info')).toBeUndefined();
    expect(await writeError(agent, '/fabric/hosts/hostA/endpoints/web/c1')).toBeUndefined();
    for (const key of [
      '/fabric/hosts/hostB/info',
      '/fabric/hosts/hostAB/info',
      '/fabric/services/web',
      '/fabric/vips/10.0.0.1',
      '/fabric/routes/web',
      '/fabric/endpoints/web/hostA/c1',
    ]) {
      const error = await writeError(agent, key);
      expect(error?.code, key).toBe('FABRIC_ERR_PERMISSION');
      expect(error?.message).toMatch(/permission denied; grant the user's role/);
    }
    // It reads nothing but its own keys either.
    await expect(agent.get('/fabric/services/web').string()).rejects.toBeInstanceOf(EtcdPermissionDeniedError);
  });

  it('the router reads everything and writes status/, vips/, acme/ and certs/, not services/ or routes/', async () => {
    const router = clientAs('router');
    for (const key of ['/fabric/status/routers/r1', '/fabric/vips/10.0.0.1', '/fabric/acme/account', '/fabric/certs/web'])
      expect(await writeError(router, key), key).toBeUndefined();
    for (const key of ['/fabric/services/web', '/fabric/routes/web', '/fabric/hosts/hostA/info'])
      expect((await writeError(router, key))?.code, key).toBe('FABRIC_ERR_PERMISSION');
    expect(await router.get('/fabric/hosts/hostA/info').string()).toBe('{}');
  });

  it('the operator applies specs with fabric apply; an agent cannot (FABRIC_ERR_PERMISSION naming user and key)', async () => {
    const spec = 'kind: Service\nname: web\n';
    const as = (user: string) => ['apply', '-f', '-', '--etcd', etcd.endpoint, '--etcd-user', user, '--etcd-password-file', path.join(out(), user)];
    const operator = await runFabric(as('operator'), { input: spec });
    expect(operator.stderr).toBe('');
    expect(operator.code).toBe(0);
    const agent = await runFabric(as('agent-hostA'), { input: spec });
    expect(agent.code).toBe(1);
    expect(agent.stderr).toMatch(/FABRIC_ERR_PERMISSION.*etcd user "agent-hostA" may not (read|write) \/fabric\/.*permission denied/);
  });

  it('run again: adds a host, keeps existing users and their passwords', async () => {
    const before = fs.readFileSync(path.join(out(), 'agent-hostA'), 'utf8');
    const result = await authInit('hostA,hostC');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split('\n')).toEqual([
      'kept user agent-hostA (it exists; password unchanged)',
      `created user agent-hostC (password in ${out()}/agent-hostC)`,
      'kept user router (it exists; password unchanged)',
      'kept user operator (it exists; password unchanged)',
      'etcd auth is enabled',
    ]);
    expect(fs.readFileSync(path.join(out(), 'agent-hostA'), 'utf8')).toBe(before);
    expect(await writeError(clientAs('agent-hostA'), '/fabric/hosts/hostA/info')).toBeUndefined();
    expect(await writeError(clientAs('agent-hostC'), '/fabric/hosts/hostC/info')).toBeUndefined();
    expect((await writeError(clientAs('agent-hostC'), '/fabric/hosts/hostA/info'))?.code).toBe('FABRIC_ERR_PERMISSION');
  });
});
