// HTTPS through nginx, end to end: the real `fabric router` with an nginx target with `https:`, real
// etcd, certificates from a test CA imported with the real `fabric cert import`. nginx has no runtime
// API: a certificate change is a (paced) reload.
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort, type IssuedCert } from '../harness/index.js';
import { type NginxRouter, startNginxRouter } from './nginx-support.js';
import { endpoint, putEndpoint, useRouterSuite, waitFor } from './support.js';
import { type EchoServer, fabricCli, fingerprintOf, handshake, httpsGet, startEchoServers, TlsFixture } from './tls-support.js';

const suite = useRouterSuite({ router: false });
let router: NginxRouter;
let fixture: TlsFixture;
let backends: EchoServer[];

beforeAll(async () => {
  fixture = await TlsFixture.create(suite.file);
  backends = await startEchoServers(suite.file, ['n0', 'n1', 'n2']);
  router = await startNginxRouter(suite.file, suite.etcd, { https: true, config: fixture.config(), minReloadInterval: '100ms', lbOnExit: 'stop' });
});

const etcdUrl = () => suite.etcd.endpoint;

async function apply(yaml: string): Promise<void> {
  const result = await fabricCli(etcdUrl(), ['apply', '-f', '-'], yaml);
  if (result.code !== 0) throw new Error(`fabric apply failed: ${result.stderr}`);
}

async function waitPresented(servername: string, cert: IssuedCert | null, timeoutMs = 15_000) {
  const want = cert ? fingerprintOf(cert) : undefined;
  return waitFor(
    async () => {
      const seen = await handshake(router.httpsPort!, servername, { ca: fixture.ca });
      return (want ? seen.fingerprint === want : seen.subject === 'fabric default certificate') ? seen : undefined;
    },
    { timeoutMs, what: `nginx presenting ${cert ? 'the imported certificate' : 'the default certificate'} for ${servername}` },
  );
}

describe('HTTPS through nginx', () => {
  it('SNI picks each service its certificate, the chain verifies, unknown names get the default; TLS 1.2+, h2, X-Forwarded-Proto', async () => {
    await apply('kind: Service\nname: one\ntls: {cert: one-cert}\n---\nkind: Service\nname: two\ndomains: [www.two.test]\ntls: {cert: two-cert}\n');
    await putEndpoint(suite.client, endpoint({ service: 'one', port: backends[0]!.port }));
    await putEndpoint(suite.client, endpoint({ service: 'two', port: backends[1]!.port }));
    const one = await fixture.importNew(etcdUrl(), 'one-cert', ['one.apps.test']);
    const two = await fixture.importNew(etcdUrl(), 'two-cert', ['www.two.test', 'two.apps.test']);

    expect(await waitPresented('one.apps.test', one)).toMatchObject({ subject: 'one.apps.test', authorized: true });
    expect(await waitPresented('www.two.test', two)).toMatchObject({ subject: 'www.two.test', authorized: true });
    expect((await waitPresented('two.apps.test', two)).san).toBe('DNS:www.two.test, DNS:two.apps.test');
    const unknown = await handshake(router.httpsPort!, 'nobody.apps.test', { ca: fixture.ca });
    expect(unknown).toMatchObject({ subject: 'fabric default certificate', authorized: false });

    const answer = await waitFor(
      async () => {
        const r = await httpsGet(router.httpsPort!, 'one.apps.test', '/p?q=1', fixture.ca);
        return r.status === 200 ? r : undefined;
      },
      { what: 'https://one.apps.test/ through nginx' },
    );
    expect(JSON.parse(answer.body)).toMatchObject({ name: 'n0', path: '/p?q=1', proto: 'https', forwardedFor: '127.0.0.1' });
    expect(JSON.parse((await router.request('one.apps.test')).body)).toMatchObject({ proto: 'http' });
    await expect(handshake(router.httpsPort!, 'one.apps.test', { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1' })).rejects.toThrow(/protocol|version/i);
    expect((await handshake(router.httpsPort!, 'one.apps.test', { maxVersion: 'TLSv1.2' })).protocol).toBe('TLSv1.2');
    expect((await handshake(router.httpsPort!, 'one.apps.test', { alpn: ['h2', 'http/1.1'] })).alpn).toBe('h2');
  });

  it('a renewed certificate is served after a reload; a deleted one falls back to the default', async () => {
    const target = await router.target();
    const reloadsBefore = target.counters.reloads;
    const renewed = await fixture.importNew(etcdUrl(), 'one-cert', ['one.apps.test']);
    await waitPresented('one.apps.test', renewed);
    await waitFor(async () => (await router.target()).counters.reloads > reloadsBefore, { what: 'the reload counted' });
    expect((await fabricCli(etcdUrl(), ['delete', 'cert', 'two-cert'])).code).toBe(0);
    await waitPresented('www.two.test', null);
    expect(router.config()).not.toMatch(/two-cert/);
  });

  it('redirect: plain HTTP gets 308 to https, challenge paths excepted; HSTS on HTTPS answers', async () => {
    await apply('kind: Service\nname: three\ntls: {cert: three-cert, redirect: true, hsts: 1h}\n');
    await putEndpoint(suite.client, endpoint({ service: 'three', port: backends[2]!.port }));
    const three = await fixture.importNew(etcdUrl(), 'three-cert', ['three.apps.test']);
    await waitPresented('three.apps.test', three);
    const redirected = await waitFor(
      async () => {
        const r = await router.request('three.apps.test', '/x/y?z=1');
        return r.status === 308 ? r : undefined;
      },
      { what: 'a 308 from plain HTTP through nginx' },
    );
    expect(redirected.headers.location).toBe(`https://three.apps.test:${router.httpsPort}/x/y?z=1`);
    // Not redirected: challenges are answered on plain HTTP, by fabric itself (from etcd; this token is unknown).
    const challenge = await router.request('three.apps.test', '/.well-known/acme-challenge/t');
    expect(challenge.status).toBe(404);
    expect(challenge.body).toContain('no such ACME challenge');
    const secure = await waitFor(
      async () => {
        const r = await httpsGet(router.httpsPort!, 'three.apps.test', '/', fixture.ca);
        return r.status === 200 ? r : undefined;
      },
      { what: 'https://three.apps.test/ through nginx' },
    );
    expect(secure.headers['strict-transport-security']).toBe('max-age=3600');
  });

  it('a router restarted while etcd is unreachable serves its certificates from the last good files', async () => {
    const one = await handshake(router.httpsPort!, 'one.apps.test', { ca: fixture.ca });
    await router.stop();
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    router = await startNginxRouter(suite.file, suite.etcd, { from: router, etcdUrl: nowhere, waitReady: false, config: fixture.config(), lbOnExit: 'stop' });
    const served = await waitFor(
      async () => {
        const seen = await handshake(router.httpsPort!, 'one.apps.test', { ca: fixture.ca });
        return seen.fingerprint === one.fingerprint ? seen : undefined;
      },
      { timeoutMs: 20_000, what: 'nginx serving the last certificate with etcd unreachable' },
    );
    expect(served.authorized).toBe(true);
  });
});
