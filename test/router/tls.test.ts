// HTTPS through HAProxy, end to end: the real `fabric router` with `https:` and `tls.keyFile`, real
// etcd, certificates from a test CA imported with the real `fabric cert import`, and clients that
// check what HAProxy presents (node:tls, https, http2).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Keys } from '../../src/keyspace.js';
import { certRecord, encodeCertRecord, validateCertificate } from '../../src/tls/cert-record.js';
import { createKeyring, parseKey } from '../../src/tls/keyring.js';
import { freePort, type IssuedCert } from '../harness/index.js';
import { type EndpointInput, endpoint, PREFIX, putEndpoint, type RunningRouter, restartRouter, startRouter, useRouterSuite, waitFor } from './support.js';
import { type EchoServer, fabricCli, fingerprintOf, h2Get, handshake, httpsGet, keyLines, startEchoServers, TlsFixture } from './tls-support.js';

const suite = useRouterSuite({ router: false });
let router: RunningRouter;
let fixture: TlsFixture;
let backends: EchoServer[];
/** Every certificate imported in this file: none of their keys may leak anywhere. */
const imported: IssuedCert[] = [];

beforeAll(async () => {
  fixture = await TlsFixture.create(suite.file);
  backends = await startEchoServers(suite.file, ['b0', 'b1', 'b2', 'b3', 'b4', 'b5']);
  // Spare backends off: a new service is how the tests below make HAProxy reload.
  router = await startRouter(suite.file, suite.etcd, { https: true, config: fixture.config(), haproxy: { spares: 0 } });
});

const etcdUrl = () => suite.etcd.endpoint;

async function apply(yaml: string): Promise<void> {
  const result = await fabricCli(etcdUrl(), ['apply', '-f', '-'], yaml);
  if (result.code !== 0) throw new Error(`fabric apply failed: ${result.stderr}`);
}

async function serve(service: string, backend: EchoServer, extra: Partial<EndpointInput> = {}): Promise<void> {
  await putEndpoint(suite.client, endpoint({ service, port: backend.port, ...extra }));
}

async function importNew(name: string, names: string[]): Promise<IssuedCert> {
  const cert = await fixture.importNew(etcdUrl(), name, names);
  imported.push(cert);
  return cert;
}

/** Until HAProxy presents `cert` (or, with null, the default certificate) for `servername`. */
async function waitPresented(servername: string, cert: IssuedCert | null, timeoutMs = 15_000) {
  const want = cert ? fingerprintOf(cert) : undefined;
  return waitFor(
    async () => {
      const seen = await handshake(router.httpsPort!, servername, { ca: fixture.ca });
      return (want ? seen.fingerprint === want : seen.subject === 'fabric default certificate') ? seen : undefined;
    },
    { timeoutMs, what: `HAProxy presenting ${cert ? 'the imported certificate' : 'the default certificate'} for ${servername}` },
  );
}

async function waitHttps(host: string, name: string) {
  return waitFor(
    async () => {
      const r = await httpsGet(router.httpsPort!, host, '/', fixture.ca);
      return r.status === 200 && JSON.parse(r.body).name === name ? r : undefined;
    },
    { what: `https://${host}/ served by ${name}` },
  );
}

describe('HTTPS through HAProxy', () => {
  it('SNI picks each service its certificate, the chain verifies, unknown names get the default; TLS 1.2+, h2 by ALPN, X-Forwarded-Proto', async () => {
    await apply('kind: Service\nname: alpha\ntls: {cert: alpha-cert}\n---\nkind: Service\nname: beta\ntls: {cert: beta-cert}\n');
    await serve('alpha', backends[0]!);
    await serve('beta', backends[1]!);
    const alpha = await importNew('alpha-cert', ['alpha.apps.test']);
    const beta = await importNew('beta-cert', ['beta.apps.test', 'www.beta.test']);

    const a = await waitPresented('alpha.apps.test', alpha);
    expect(a).toMatchObject({ subject: 'alpha.apps.test', authorized: true });
    expect(a.san).toContain('DNS:alpha.apps.test');
    const b = await waitPresented('beta.apps.test', beta);
    expect(b).toMatchObject({ subject: 'beta.apps.test', authorized: true });
    expect(b.san).toBe('DNS:beta.apps.test, DNS:www.beta.test');
    // www.beta.test is in the certificate but not beta's: the certificate is not presented for it.
    expect((await handshake(router.httpsPort!, 'www.beta.test', { ca: fixture.ca })).subject).toBe('fabric default certificate');
    const unknown = await handshake(router.httpsPort!, 'nobody.apps.test', { ca: fixture.ca });
    expect(unknown.subject).toBe('fabric default certificate');
    expect(unknown.authorized).toBe(false);

    const viaHttps = await waitHttps('alpha.apps.test', 'b0');
    expect(JSON.parse(viaHttps.body)).toMatchObject({ proto: 'https', forwardedFor: '127.0.0.1' });
    expect(JSON.parse((await router.request('alpha.apps.test')).body)).toMatchObject({ proto: 'http', forwardedFor: '127.0.0.1' });
    expect((await httpsGet(router.httpsPort!, 'beta.apps.test', '/x', fixture.ca)).body).toContain('"name":"b1"');
    // A host without a certificate is not served over HTTPS.
    expect((await httpsGet(router.httpsPort!, 'nobody.apps.test', '/', fixture.ca).catch((e: Error) => e)) instanceof Error).toBe(true);

    await expect(handshake(router.httpsPort!, 'alpha.apps.test', { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1' })).rejects.toThrow(/protocol|version/i);
    expect((await handshake(router.httpsPort!, 'alpha.apps.test', { maxVersion: 'TLSv1.2' })).protocol).toBe('TLSv1.2');
    expect((await handshake(router.httpsPort!, 'alpha.apps.test', { alpn: ['h2', 'http/1.1'] })).alpn).toBe('h2');
    // fabric get certs names the routers serving each certificate (from their status keys).
    const listed = await waitFor(
      async () => {
        const rows = JSON.parse((await fabricCli(etcdUrl(), ['get', 'certs', '-o', 'json'])).stdout) as Array<{ name: string; servedBy: unknown[] }>;
        const row = rows.find((r) => r.name === 'alpha-cert');
        return row && row.servedBy.length > 0 ? row : undefined;
      },
      { what: 'fabric get certs showing the router serving alpha-cert' },
    );
    expect(listed.servedBy).toEqual([{ router: expect.any(String), targets: ['haproxy-0'], current: true }]);
    const h2 = await h2Get(router.httpsPort!, 'alpha.apps.test', '/h2', fixture.ca);
    expect(h2.status).toBe(200);
    expect(JSON.parse(h2.body)).toMatchObject({ name: 'b0', path: '/h2', proto: 'https' });
  });

  it('imports, renewals and deletes reach HAProxy through the Runtime API: no reload, same workers, no failed HTTPS request', async () => {
    await apply('kind: Service\nname: gamma\ntls: {cert: gamma-cert}\n---\nkind: Service\nname: delta\ntls: {cert: delta-cert}\n');
    await serve('gamma', backends[2]!);
    await serve('delta', backends[3]!);
    const gamma = await importNew('gamma-cert', ['gamma.apps.test']);
    await waitPresented('gamma.apps.test', gamma);
    await waitHttps('gamma.apps.test', 'b2');
    const before = await router.showProc();
    const metricBefore = await router.metric('fabric_router_reloads_total');

    const loop = { total: 0, failures: [] as string[], done: false };
    const requests = (async () => {
      while (!loop.done && loop.total < 1_500) {
        const n = ++loop.total;
        try {
          const r = await httpsGet(router.httpsPort!, 'gamma.apps.test', `/${n}`, fixture.ca);
          if (r.status !== 200) loop.failures.push(`#${n}: HTTP ${r.status}`);
        } catch (error) {
          loop.failures.push(`#${n}: ${(error as Error).message}`);
        }
      }
    })();
    try {
      await waitFor(() => loop.total >= 20, { what: 'the HTTPS loop to get going' });
      const delta = await importNew('delta-cert', ['delta.apps.test']);
      await waitPresented('delta.apps.test', delta);
      const renewed = await importNew('gamma-cert', ['gamma.apps.test']);
      expect(fingerprintOf(renewed)).not.toBe(fingerprintOf(gamma));
      await waitPresented('gamma.apps.test', renewed);
      expect((await fabricCli(etcdUrl(), ['delete', 'cert', 'delta-cert'])).code).toBe(0);
      await waitPresented('delta.apps.test', null);
      const settled = loop.total;
      await waitFor(() => loop.total >= settled + 20, { what: 'more HTTPS requests after the last change' });
    } finally {
      loop.done = true;
      await requests;
    }
    expect(loop.failures).toEqual([]);
    expect(loop.total).toBeGreaterThan(40);
    const after = await router.showProc();
    expect(after.reloads, 'no reload for certificates').toBe(before.reloads);
    expect(after.workers).toEqual(before.workers);
    expect(await router.metric('fabric_router_reloads_total')).toBe(metricBefore);

    // The files follow (written once the changes pause): what a reload would load is what runs.
    await waitFor(
      () => {
        const crtList = fs.readFileSync(path.join(router.dir, 'certs/crt-list.txt'), 'utf8');
        return (
          /gamma-cert\.pem gamma\.apps\.test/.test(crtList) && !/delta-cert/.test(crtList) && !fs.existsSync(path.join(router.dir, 'certs/delta-cert.pem'))
        );
      },
      { what: 'the crt-list and certificate files in step with HAProxy' },
    );
    expect(fs.readFileSync(path.join(router.dir, 'certs/gamma-cert.pem'), 'utf8')).toContain(imported.at(-1)!.certPem.trim());
    // A reload (a new service) loads the same certificates.
    await apply('kind: Service\nname: epsilon\n');
    await serve('epsilon', backends[4]!);
    await waitFor(async () => (await router.showProc()).reloads > after.reloads, { what: 'a reload for the new service' });
    const reloaded = await handshake(router.httpsPort!, 'gamma.apps.test', { ca: fixture.ca });
    expect(reloaded.fingerprint).toBe(fingerprintOf(imported.at(-1)!));
    expect((await handshake(router.httpsPort!, 'delta.apps.test', { ca: fixture.ca })).subject).toBe('fabric default certificate');
  });

  it('a certificate a service names for a domain it does not own is refused, reported and not deployed', async () => {
    await apply('kind: Service\nname: zeta\ndomains: [www.zeta.test]\n---\nkind: Service\nname: eta\ntls: {cert: zeta-cert}\n');
    await serve('zeta', backends[5]!);
    await serve('eta', backends[5]!);
    // eta's containers also claim zeta's domain, with the certificate on a label.
    await serve('eta', backends[4]!, { domains: ['www.zeta.test'], tls: 'zeta-cert' });
    await importNew('zeta-cert', ['www.zeta.test']);
    const issues = await waitFor(
      async () => {
        const list = (await router.status()).issues as Array<{ code: string; subject: string; message: string }>;
        const mine = list.filter((i) => i.subject === 'services/eta' && /zeta-cert/.test(i.message));
        return mine.length >= 2 ? mine : undefined;
      },
      { what: "eta's refused certificate reported" },
    );
    expect(issues).toContainEqual({
      code: 'FABRIC_ERR_CERT',
      subject: 'services/eta',
      message: 'eta.apps.test: certificate zeta-cert (www.zeta.test) does not cover it; not served over HTTPS',
    });
    expect(issues).toContainEqual({
      code: 'FABRIC_ERR_CONFLICT',
      subject: 'services/eta',
      message: 'www.zeta.test: certificate zeta-cert is not attached to it: the domain belongs to services/zeta',
    });
    expect(fs.readFileSync(path.join(router.dir, 'certs/crt-list.txt'), 'utf8')).not.toMatch(/zeta-cert/);
    expect((await handshake(router.httpsPort!, 'www.zeta.test', { ca: fixture.ca })).subject).toBe('fabric default certificate');
    const certs = (await router.get('/v1/certs')).json.certs as Array<{ name: string; servedBy: string[]; hosts: string[] }>;
    expect(certs.find((c) => c.name === 'zeta-cert')).toMatchObject({ servedBy: [], hosts: [] });
  });

  it('a certificate whose key does not decrypt with tls.keyFile is not served; /v1/certs and /v1/status say why', async () => {
    await apply('kind: Service\nname: kappa\ntls: {cert: kappa-cert}\n');
    await serve('kappa', backends[2]!);
    const cert = await fixture.pki.leaf(['kappa.apps.test']);
    imported.push(cert);
    // Encrypted with another key file than the routers': a backup restored with the wrong key, say.
    const other = createKeyring(parseKey(randomBytes(32).toString('base64'), 'other'));
    const record = certRecord({
      name: 'kappa-cert',
      source: 'manual',
      valid: validateCertificate({ certPem: cert.chainPem, keyPem: cert.keyPem }),
      keyring: other,
    });
    await suite.client
      .put(`${PREFIX}/${Keys.cert('kappa-cert')}`)
      .value(encodeCertRecord(record))
      .exec();
    const listed = await waitFor(
      async () => ((await router.get('/v1/certs')).json.certs as Array<{ name: string; error?: string }>).find((c) => c.name === 'kappa-cert' && c.error),
      { what: 'kappa-cert reported as unusable' },
    );
    expect(listed.error).toMatch(new RegExp(`encrypted with key ${other.primary.id}, which is not tls.keyFile`));
    expect((await router.status()).tls.errors).toContainEqual({ cert: 'kappa-cert', error: listed.error });
    expect((await handshake(router.httpsPort!, 'kappa.apps.test', { ca: fixture.ca })).subject).toBe('fabric default certificate');
    // Everything else is served as before.
    expect((await handshake(router.httpsPort!, 'alpha.apps.test', { ca: fixture.ca })).authorized).toBe(true);
  });

  it('redirect: plain HTTP gets 308 to https (same host, path, query), challenge paths excepted; HSTS on HTTPS answers', async () => {
    await apply('kind: Service\nname: theta\ntls: {cert: theta-cert, redirect: true, hsts: 180d}\n');
    await serve('theta', backends[0]!);
    const theta = await importNew('theta-cert', ['theta.apps.test']);
    await waitPresented('theta.apps.test', theta);
    const redirected = await waitFor(
      async () => {
        const r = await router.request('theta.apps.test', '/a/b?c=1&d=2');
        return r.status === 308 ? r : undefined;
      },
      { what: 'a 308 from plain HTTP' },
    );
    expect(redirected.headers.location).toBe(`https://theta.apps.test:${router.httpsPort}/a/b?c=1&d=2`);
    const challenge = await router.request('theta.apps.test', '/.well-known/acme-challenge/token-1');
    expect(challenge.status).toBe(200);
    expect(JSON.parse(challenge.body)).toMatchObject({ name: 'b0', path: '/.well-known/acme-challenge/token-1' });
    const secure = await httpsGet(router.httpsPort!, 'theta.apps.test', '/a/b?c=1&d=2', fixture.ca);
    expect(secure.status).toBe(200);
    expect(secure.headers['strict-transport-security']).toBe(`max-age=${180 * 86_400}`);
    // A host without redirect or HSTS gets neither.
    expect((await router.request('alpha.apps.test')).status).toBe(200);
    expect((await httpsGet(router.httpsPort!, 'alpha.apps.test', '/', fixture.ca)).headers['strict-transport-security']).toBeUndefined();
  });

  it('a private key never appears in clear: not in etcd, the router log, /v1/certs, /v1/status or /v1/events', async () => {
    expect(imported.length).toBeGreaterThan(3);
    const secrets = imported.flatMap(keyLines);
    const leaked = (text: string) => text.includes('PRIVATE KEY') || secrets.some((line) => text.includes(line));

    const raw = await suite.client.getAll().prefix(`${PREFIX}/`).strings();
    const certKeys = Object.keys(raw).filter((k) => k.startsWith(`${PREFIX}/certs/`));
    expect(certKeys.length).toBeGreaterThan(3);
    for (const [key, value] of Object.entries(raw)) expect(leaked(value), key).toBe(false);
    for (const url of ['/v1/certs', '/v1/status', '/v1/services', '/metrics']) expect(leaked((await router.get(url)).text), url).toBe(false);
    expect(leaked(await firstEvent(router.url))).toBe(false);
    expect(leaked(router.proc.lines().join('\n'))).toBe(false);
    expect(leaked(fs.readFileSync(router.proc.logFile, 'utf8'))).toBe(false);
    // Decrypted only in the router's own directory, readable by its user alone.
    const certsDir = path.join(router.dir, 'certs');
    expect(fs.statSync(certsDir).mode & 0o777).toBe(0o700);
    for (const file of fs.readdirSync(certsDir)) expect(fs.statSync(path.join(certsDir, file)).mode & 0o077, file).toBe(0);
  });

  it('a restarted router adopts the running HAProxy with its certificates: no reload, later changes at run time', async () => {
    const first = await startRouter(suite.perTest, suite.etcd, { https: true, config: fixture.config(), lbOnExit: 'keep' });
    await apply('kind: Service\nname: iota\ntls: {cert: iota-cert}\n');
    await serve('iota', backends[1]!);
    const iota = await importNew('iota-cert', ['iota.apps.test']);
    const presented = (cert: IssuedCert) =>
      waitFor(async () => (await handshake(first.httpsPort!, 'iota.apps.test', { ca: fixture.ca })).fingerprint === fingerprintOf(cert), {
        what: 'iota-cert presented by the adopted HAProxy',
      });
    await presented(iota);
    const before = await first.showProc();
    await first.proc.stop('SIGTERM', 15_000); // --lb-on-exit keep: HAProxy serves on
    const next = await restartRouter(suite.perTest, first, suite.etcd);
    await presented(iota);
    const renewed = await importNew('iota-cert', ['iota.apps.test']);
    await presented(renewed);
    const after = await next.showProc();
    expect(after.masterPid).toBe(before.masterPid);
    expect(after.reloads, 'adoption and renewal without a reload').toBe(before.reloads);
    expect((await next.target()).lastApply.action).toBe('runtime');
  });

  it('a router restarted while etcd is unreachable serves its certificates from the last good files', async () => {
    const alpha = imported[0]!;
    const masterBefore = (await router.showProc()).masterPid;
    await router.stop(); // --lb-on-exit stop: HAProxy goes too
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    router = await restartRouter(suite.file, router, suite.etcd, { etcdUrl: nowhere, waitReady: false });
    const served = await waitPresented('alpha.apps.test', alpha, 20_000);
    expect(served.authorized).toBe(true);
    await waitFor(async () => (await router.showProc()).masterPid !== masterBefore, { what: 'a new HAProxy master answering' });
    expect(JSON.parse((await waitHttps('alpha.apps.test', 'b0')).body)).toMatchObject({ proto: 'https' });
    expect((await router.get('/readyz')).status).toBe(503);
  });
});

/** The first `snapshot` event of /v1/events, as sent. */
function firstEvent(baseUrl: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${baseUrl}/v1/events`, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (/event: snapshot\ndata: .*\n\n/.test(text)) {
          req.destroy();
          resolve(text);
        }
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error('no snapshot event in 10 s')));
    req.on('error', (error) => (error.message === 'socket hang up' ? undefined : reject(error)));
  });
}
