// Issue 10 §4–5: what `fabric apply/get/delete` say when a Route names a service that does not
// exist, when no etcd answers, and when etcd refuses the user (auth enabled, role too narrow).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdServer, enableAuth, freePort, makeTempDir, startEtcd } from '../harness/index.js';
import { fabric, keysUnder, putAll, runFabric, useCluster, writeTemp } from './support.js';

const cluster = useCluster();
const temp = makeTempDir('fabric-cli-messages-');
afterAll(() => temp.remove());

const ROUTE = (service: string) =>
  `kind: Route\nname: shop\nhost: shop.example.com\nbackends: [{service: web, weight: 50}, {service: ${service}, weight: 50}]\n`;

describe('fabric apply: a Route to a service that does not exist', { timeout: 60_000 }, () => {
  it('warns on stderr, naming route and service, and still applies', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const file = writeTemp(temp.path, 'route.yaml', `kind: Service\nname: web\n---\n${ROUTE('checkout')}`);
    for (const args of [['--dry-run'], []]) {
      const result = await fabric(c, prefix, ['apply', '-f', file, ...args]);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe(
        'fabric: warning: route/shop: backend service "checkout" does not exist (no Service spec, no endpoints); applied anyway, it gets no traffic until the service exists',
      );
    }
    expect([...(await keysUnder(c, prefix)).keys()].sort()).toEqual(['routes/shop', 'services/web']);
  });

  it('says nothing when the service has a spec in etcd or endpoints only', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    await putAll(c, prefix, { 'services/web': '{"name":"web"}', 'endpoints/checkout/h1/c1': '{}' });
    const file = writeTemp(temp.path, 'route-known.yaml', ROUTE('checkout'));
    const result = await fabric(c, prefix, ['apply', '-f', file]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('route/shop created');
  });
});

describe('no etcd answering', { timeout: 60_000 }, () => {
  it('names every endpoint tried and the reason, with no empty gRPC "Resolution note"', async () => {
    const [a, b] = [await freePort(), await freePort()];
    const endpoints = `http://127.0.0.1:${a},http://127.0.0.1:${b}`;
    const result = await runFabric(['get', 'services', '--etcd', endpoints]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^fabric: FABRIC_ERR_ETCD_UNAVAILABLE: cannot read /fabric/[a-z]+/: no etcd answered at http://127\\.0\\.0\\.1:${a}, http://127\\.0\\.0\\.1:${b} \\(connect ECONNREFUSED 127\\.0\\.0\\.1:(${a}|${b})\\); check --etcd \\(FABRIC_ETCD\\) and that etcd is running$`,
      ),
    );
    expect(result.stderr).not.toContain('Resolution note');
  });
});

describe('etcd refusing the user', { timeout: 120_000 }, () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd();
    // `ops` may read all of fabric's keys but write only services/.
    await enableAuth(etcd, 'ops', 'ops-pw', { prefix: '/fabric/services/', role: 'ops' });
    await etcd.etcdctl(['role', 'grant-permission', 'ops', '--prefix=true', 'read', '/fabric/']);
    // `reader` may read services/ only.
    await etcd.etcdctl(['user', 'add', 'reader:reader-pw']);
    await etcd.etcdctl(['role', 'add', 'reader']);
    await etcd.etcdctl(['role', 'grant-permission', 'reader', '--prefix=true', 'read', '/fabric/services/']);
    await etcd.etcdctl(['user', 'grant-role', 'reader', 'reader']);
  });
  afterAll(async () => etcd?.stop());

  const asOps = (args: string[], user = 'ops', password = 'ops-pw') =>
    runFabric([...args, '--etcd', etcd.endpoint, '--etcd-user', user, '--etcd-password', password]);

  it('names the operation, the key and the user (FABRIC_ERR_PERMISSION)', async () => {
    const allowed = writeTemp(temp.path, 'allowed.yaml', 'kind: Service\nname: web\n');
    expect((await asOps(['apply', '-f', allowed])).stdout).toBe('service/web created');

    const denied = writeTemp(
      temp.path,
      'denied.yaml',
      'kind: Service\nname: api\n---\nkind: Route\nname: shop\nhost: shop.example.com\nbackends: [{service: api, weight: 1}]\n',
    );
    const result = await asOps(['apply', '-f', denied]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'fabric: FABRIC_ERR_PERMISSION: etcd user "ops" may not write /fabric/services/api, /fabric/routes/shop: permission denied; grant the user\'s role write access to that key or prefix',
    );

    const del = await asOps(['delete', 'route', 'shop']);
    expect(del.stderr).toBe(
      'fabric: FABRIC_ERR_PERMISSION: etcd user "ops" may not delete /fabric/routes/shop: permission denied; grant the user\'s role write access to that key or prefix',
    );
    const narrow = await asOps(['get', 'routes'], 'reader', 'reader-pw');
    expect(narrow.stderr).toBe(
      'fabric: FABRIC_ERR_PERMISSION: etcd user "reader" may not read /fabric/routes/: permission denied; grant the user\'s role read access to that key or prefix',
    );
  });

  it('says so when the password is wrong', async () => {
    const result = await asOps(['get', 'services'], 'ops', 'wrong');
    expect(result.code).toBe(1);
    // `get services` reads several prefixes at once: whichever is refused first is named.
    expect(result.stderr).toMatch(
      /^fabric: FABRIC_ERR_PERMISSION: cannot read \/fabric\/[a-z]+\/: authentication of etcd user "ops" failed \(wrong user or password\)$/,
    );
  });
});
