// ACME against a real CA (Debian's pebble), validated for real through the routers' HAProxy
// frontends, names resolved by our DNS responder: one order per certificate across routers,
// challenges answered by any router, a dead router's lock released, failures backed off.
import { describe, expect, it } from 'vitest';
import { decryptKey } from '../../src/tls/cert-record.js';
import { freePort, type Pebble, startPebble } from '../harness/index.js';
import { startNginxRouter } from '../router/nginx-support.js';
import { DOMAIN, endpoint, PREFIX, putEndpoint, putRaw, type RunningRouter, startWebServers, useRouterSuite, waitFor } from '../router/support.js';
import { keyringOf, putAutoService, rawValues, readCert, startAcmeRouter, verifyCert, writeKeyFile } from './support.js';

// Each test starts from an empty keyspace: a service left by one would be ordered by the next one's routers.
const suite = useRouterSuite({ router: false, afterEach: () => wipe() });

async function wipe(): Promise<void> {
  await suite.client.delete().prefix(`${PREFIX}/`).exec();
}

async function pebbleFor(httpPort: number): Promise<Pebble> {
  const pebble = await startPebble(suite.perTest.tempDir('fabric-pebble-'), httpPort);
  suite.perTest.defer(() => pebble.stop());
  return pebble;
}

async function ordersOf(routers: RunningRouter[], result: string): Promise<number> {
  let sum = 0;
  for (const router of routers) sum += await router.metric('fabric_router_acme_orders_total', { result });
  return sum;
}

describe('ACME with pebble', () => {
  it('two routers with ACME on one etcd: exactly one order per certificate, stored once, its chain verifying against pebble’s root; no reload', async () => {
    const { file: keyFile, key } = writeKeyFile(suite.perTest.tempDir());
    const httpPort = await freePort();
    const pebble = await pebbleFor(httpPort);
    const a = await startAcmeRouter(suite.perTest, suite.etcd, { pebble, keyFile, httpPort });
    const b = await startAcmeRouter(suite.perTest, suite.etcd, { pebble, keyFile });
    const [web] = await startWebServers(suite.perTest, ['web-1']);
    const host = `web.${DOMAIN}`;
    // The service first (a new backend is a reload), then it asks for a certificate (no reload).
    const e = endpoint({ service: 'web', port: web!.port });
    const revision = await putEndpoint(suite.client, e);
    await a.waitApplied(revision);
    await b.waitApplied(revision);
    const reloads = [await a.reloads(), await b.reloads()];
    await putRaw(suite.client, 'services/web', JSON.stringify({ name: 'web', tls: { cert: 'auto' } }));
    const cert = await waitFor(() => readCert(suite.client, `auto-${host}`), { timeoutMs: 30_000, what: 'the certificate in etcd' });
    expect(cert).toMatchObject({ name: `auto-${host}`, domains: [host], source: 'acme' });
    verifyCert(cert, await pebble.root(), host, key);
    // Both routers see it stored; more applies order nothing more.
    let last = 0;
    for (let weight = 1; weight <= 5; weight++) last = await putEndpoint(suite.client, { ...e, weight });
    await a.waitApplied(last);
    await b.waitApplied(last);
    await waitFor(async () => (await ordersOf([a, b], 'issued')) === 1, { what: 'the one order counted' });
    expect(pebble.issued()).toBe(1);
    expect(await ordersOf([a, b], 'failed')).toBe(0);
    // Challenges went through the Runtime API: neither HAProxy reloaded for them.
    expect([await a.reloads(), await b.reloads()]).toEqual(reloads);
    // The challenge is gone once the order is done.
    expect(Object.keys(await rawValues(suite.client)).filter((k) => k.includes('/acme/challenges/'))).toEqual([]);
  });

  it('the CA validating against a router with no ACME configuration: the challenge still succeeds; no key in clear in etcd or logs', async () => {
    const { file: keyFile, key } = writeKeyFile(suite.perTest.tempDir());
    const plainPort = await freePort();
    const pebble = await pebbleFor(plainPort);
    const plain = await startAcmeRouter(suite.perTest, suite.etcd, { httpPort: plainPort });
    const ordering = await startAcmeRouter(suite.perTest, suite.etcd, { pebble, keyFile });
    const [web] = await startWebServers(suite.perTest, ['label-1']);
    const host = `labelled.${DOMAIN}`;
    await putAutoService(suite.client, 'labelled', web!, 'label');
    const cert = await waitFor(() => readCert(suite.client, `auto-${host}`), { timeoutMs: 30_000, what: 'the certificate in etcd' });
    verifyCert(cert, await pebble.root(), host, key);
    expect(await ordering.metric('fabric_router_acme_orders_total', { result: 'issued' })).toBe(1);
    expect(await plain.metric('fabric_router_acme_orders_total')).toBe(0);

    // The account key and the certificate key are in etcd, encrypted, never in clear.
    const raw = await rawValues(suite.client);
    const account = JSON.parse(raw[`${PREFIX}/acme/account`]!);
    expect(account.key).toEqual({ alg: 'aes-256-gcm', keyId: expect.any(String), iv: expect.any(String), tag: expect.any(String), data: expect.any(String) });
    const clearKeys = [decryptKey(account.key, keyringOf(key)), decryptKey(cert.key, keyringOf(key))];
    for (const pem of clearKeys) expect(pem).toContain('PRIVATE KEY');
    const bodies = clearKeys.map((pem) =>
      pem
        .split('\n')
        .filter((l) => l && !l.startsWith('-----'))
        .join(''),
    );
    for (const [k, value] of Object.entries(raw)) {
      expect(value, k).not.toContain('PRIVATE KEY');
      for (const body of bodies) expect(value, k).not.toContain(body.slice(0, 40));
    }
    for (const router of [ordering, plain]) {
      const log = router.proc.output();
      expect(log).not.toContain('PRIVATE KEY');
      for (const body of bodies) expect(log).not.toContain(body.slice(0, 40));
    }
  });

  it('the CA validating against an nginx router (no ACME): its paced reload is waited for, the challenge succeeds', async () => {
    const { file: keyFile, key } = writeKeyFile(suite.perTest.tempDir());
    const nginxPort = await freePort();
    const pebble = await pebbleFor(nginxPort);
    await startNginxRouter(suite.perTest, suite.etcd, { nginxPort });
    const ordering = await startAcmeRouter(suite.perTest, suite.etcd, { pebble, keyFile });
    const [web] = await startWebServers(suite.perTest, ['ngx-1']);
    const host = `ngx.${DOMAIN}`;
    await putAutoService(suite.client, 'ngx', web!);
    const cert = await waitFor(() => readCert(suite.client, `auto-${host}`), { timeoutMs: 30_000, what: 'the certificate in etcd' });
    verifyCert(cert, await pebble.root(), host, key);
    expect(await ordering.metric('fabric_router_acme_orders_total', { result: 'failed' })).toBe(0);
  });

  it('a router killed mid-order releases the lock with its lease, and another router completes the order', async () => {
    const { file: keyFile, key } = writeKeyFile(suite.perTest.tempDir());
    const httpPort = await freePort();
    const pebble = await pebbleFor(httpPort);
    // The CA validates against a third router: a killed router's HAProxy goes on serving, but with the
    // challenges it had when its router died.
    await startAcmeRouter(suite.perTest, suite.etcd, { httpPort });
    const routers = [
      await startAcmeRouter(suite.perTest, suite.etcd, { pebble, keyFile, routerId: 'first' }),
      await startAcmeRouter(suite.perTest, suite.etcd, { pebble, keyFile, routerId: 'second' }),
    ];
    const [web] = await startWebServers(suite.perTest, ['mid-1']);
    const host = `mid.${DOMAIN}`;
    const lockKey = `${PREFIX}/acme/locks/auto-${host}`;
    // The CA's lookups go unanswered: the order hangs in validation, its lock held.
    pebble.dns.hold = true;
    await putAutoService(suite.client, 'mid', web!);
    await waitFor(() => pebble.dns.queries.includes(host), { timeoutMs: 20_000, what: 'pebble validating' });
    const holder = JSON.parse((await suite.client.get(lockKey).string())!).routerId as string;
    const [dying, survivor] = holder === 'first' ? [routers[0]!, routers[1]!] : [routers[1]!, routers[0]!];
    await dying.proc.kill9();
    const killedAt = Date.now();
    pebble.dns.hold = false;
    // Its lease (3 s) runs out: the lock goes, and the other router takes it and orders.
    await waitFor(async () => JSON.parse((await suite.client.get(lockKey).string()) ?? '{}').routerId !== holder, {
      timeoutMs: 20_000,
      what: 'the lock released',
    });
    const cert = await waitFor(() => readCert(suite.client, `auto-${host}`), { timeoutMs: 40_000, what: 'the certificate in etcd' });
    expect(Date.now() - killedAt).toBeGreaterThan(1_000);
    verifyCert(cert, await pebble.root(), host, key);
    const state = JSON.parse((await suite.client.get(`${PREFIX}/acme/state/auto-${host}`).string())!);
    expect(state).toMatchObject({ failures: 0, routerId: holder === 'first' ? 'second' : 'first' });
    expect(await survivor.metric('fabric_router_acme_orders_total', { result: 'issued' })).toBe(1);
  });

  it('a domain the CA refuses: FABRIC_ERR_ACME with the CA’s message on every router, retried with backoff, not re-ordered on every apply; then issued', async () => {
    const { file: keyFile } = writeKeyFile(suite.perTest.tempDir());
    const httpPort = await freePort();
    const pebble = await pebbleFor(httpPort);
    const ordering = await startAcmeRouter(suite.perTest, suite.etcd, { pebble, keyFile, httpPort, retry: { min: '4s', max: '8s' } });
    const plain = await startAcmeRouter(suite.perTest, suite.etcd);
    const [web] = await startWebServers(suite.perTest, ['bad-1']);
    const host = `refused.${DOMAIN}`;
    const name = `auto-${host}`;
    pebble.dns.refused.add(host);
    const e = endpoint({ service: 'refused', port: web!.port });
    await putEndpoint(suite.client, e);
    await putRaw(suite.client, 'services/refused', JSON.stringify({ name: 'refused', tls: { cert: 'auto' } }));
    const issueOf = async (router: RunningRouter) =>
      ((await router.status()).issues as Array<{ code: string; subject: string; message: string }>).find(
        (i) => i.code === 'FABRIC_ERR_ACME' && i.subject === `certs/${name}`,
      );
    const issue = await waitFor(() => issueOf(ordering), { timeoutMs: 30_000, what: 'FABRIC_ERR_ACME in /v1/status' });
    // The CA's own words (pebble: `Get "http://refused.apps.test:…": could not resolve URL …`).
    expect(issue.message).toMatch(/could not resolve URL/);
    expect(issue.message).toContain(host);
    expect((await waitFor(() => issueOf(plain))).message).toMatch(/could not resolve URL/);
    const status = (await ordering.status()).acme as { attempts: Array<{ name: string; result: string; error?: string }> };
    expect(status.attempts.find((a) => a.name === name)).toMatchObject({ result: 'failed', error: expect.stringMatching(/could not resolve URL/) });

    // Applies keep coming (a weight change as fast as the router applies them, for 5 s); orders only as
    // the backoff allows (an order without it takes about a second here: 4–5 in that time).
    const first = await ordering.metric('fabric_router_acme_orders_total', { result: 'failed' });
    const started = Date.now();
    let applies = 0;
    while (Date.now() - started < 5_000) {
      await ordering.waitApplied(await putEndpoint(suite.client, { ...e, weight: 1 + (applies % 200) }));
      applies += 1;
    }
    const failed = (await ordering.metric('fabric_router_acme_orders_total', { result: 'failed' })) - first;
    expect(applies).toBeGreaterThan(10);
    // The first retry 2–4 s after the first failure, the next 4–8 s after that: at most 2 in 5 s, however many applies.
    expect(failed).toBeLessThanOrEqual(2);
    // It does retry: the second failure is recorded (its order may still be running on a loaded box).
    const state = await waitFor(
      async () => {
        const s = JSON.parse((await suite.client.get(`${PREFIX}/acme/state/${name}`).string())!);
        return s.failures >= 2 && s;
      },
      { timeoutMs: 20_000, what: 'a second failed attempt in acme/state' },
    );
    expect(Date.parse(state.nextAttemptAt)).toBeGreaterThan(Date.parse(state.lastAttemptAt));

    // The CA accepts it again: the next retry issues it, and the issue is gone everywhere.
    pebble.dns.refused.delete(host);
    await waitFor(() => readCert(suite.client, name), { timeoutMs: 40_000, what: 'the certificate after the retry' });
    await waitFor(async () => !(await issueOf(plain)) && !(await issueOf(ordering)), { what: 'FABRIC_ERR_ACME cleared' });
  });

  it('`acme/renew/<name>` (fabric cert renew) renews now: a new certificate, the request answered, on the account that exists', async () => {
    const { file: keyFile, key } = writeKeyFile(suite.perTest.tempDir());
    const httpPort = await freePort();
    const pebble = await pebbleFor(httpPort);
    // No contact: the second order finds the account by its key (no empty update the CA refuses).
    const router = await startAcmeRouter(suite.perTest, suite.etcd, { pebble, keyFile, httpPort, email: null });
    const [web] = await startWebServers(suite.perTest, ['renew-1']);
    const host = `renew.${DOMAIN}`;
    const name = `auto-${host}`;
    await putAutoService(suite.client, 'renew', web!);
    const first = await waitFor(() => readCert(suite.client, name), { timeoutMs: 30_000, what: 'the first certificate' });
    await putRaw(suite.client, `acme/renew/${name}`, new Date().toISOString());
    const second = await waitFor(
      async () => {
        const cert = await readCert(suite.client, name);
        return cert && cert.chain !== first.chain && cert;
      },
      { timeoutMs: 30_000, what: 'the renewed certificate' },
    );
    verifyCert(second, await pebble.root(), host, key);
    expect(await suite.client.get(`${PREFIX}/acme/renew/${name}`).string()).toBeNull();
    expect(pebble.issued()).toBe(2);
    expect(await router.metric('fabric_router_acme_orders_total', { result: 'issued' })).toBe(2);
  });
});
