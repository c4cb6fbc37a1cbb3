// HTTPS benchmarks (issue 11) with a real etcd and the router's own HAProxy (`https:`); certificates
// from a test CA, written to etcd as `fabric cert import` writes them.
//  l) certificate put → presented by SNI: a renewal of a served certificate, and a new certificate
//     for a host that waits for it; no reload either way
//  m) 1,000 certificates: cold start until all are served, router and HAProxy memory, one more
//     added at that size (Runtime API, no reload)
//  n) TLS handshakes per second through HAProxy, fresh and resumed (session id / TLS 1.3 PSK),
//     TLS 1.3 and 1.2, four bounded loops on loopback
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type tls from 'node:tls';
import type { Namespace } from 'etcd3';
import { startEtcd } from '../test/harness/etcd.js';
import { type IssuedCert, TestPki } from '../test/harness/pki.js';
import { appliedDurations, DOMAIN, endpoint, etcdClient, type RouterProcess, startRouter, txn, waitApplied } from './lib/fabric.js';
import { type Figure, latencyFigures, ms, nowMs, sleep } from './lib/report.js';
import { benchKey, certPut, tlsHandshake } from './lib/tls.js';
import { Cleanup, startIdServers } from './lib/util.js';

const L_SAMPLES = 50;
const M_CERTS = 1_000;
const N_LOOPS = 4;
const N_MAX_HANDSHAKES = 4_000;
const N_MAX_MS = 5_000;
const GAP_MS = 100;

function spec(name: string, cert: string): { key: string; value: string } {
  return { key: `services/${name}`, value: JSON.stringify({ name, tls: { cert } }) };
}

/** Until HAProxy presents the certificate with `fingerprint` for `host`; the time it did, or undefined after `timeoutMs`. */
async function pollPresented(port: number, host: string, fingerprint: string, timeoutMs = 15_000): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const seen = await tlsHandshake(port, host).catch(() => undefined);
    if (seen?.fingerprint === fingerprint) return nowMs();
    await sleep(1);
  }
  return undefined;
}

function fingerprintOf(cert: IssuedCert): string {
  return new X509Certificate(cert.certPem).fingerprint256;
}

async function reloads(router: RouterProcess): Promise<number> {
  return (await router.status()).targets.reduce((n, t) => n + t.counters.reloads, 0);
}

async function putAll(kv: Namespace, puts: Array<{ key: string; value: string }>, chunk: number): Promise<number> {
  let rev = 0;
  for (let i = 0; i < puts.length; i += chunk) rev = await txn(kv, puts.slice(i, i + chunk));
  return rev;
}

async function setUp(cleanup: Cleanup, name: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `fabric-bench-tls-${name}-`));
  cleanup.defer('temp dir', () => fs.rmSync(dir, { recursive: true, force: true }));
  const pki = await TestPki.create(path.join(dir, 'pki'));
  const key = benchKey(dir);
  const etcd = await startEtcd({ name: `bench-etcd-${name}` });
  cleanup.defer('etcd', () => etcd.stop());
  const { client, kv } = etcdClient(etcd.endpoint);
  cleanup.defer('etcd client', () => client.close());
  return { pki, key, etcd, kv };
}

/** l) and n): one router, one certificate per probe host. */
export async function benchCertLatencyAndHandshakes(): Promise<Figure[]> {
  const cleanup = new Cleanup();
  try {
    const { pki, key, etcd, kv } = await setUp(cleanup, 'l');
    const pool = await startIdServers(1, 'l');
    cleanup.defer('id servers', () => pool.close());
    const half = L_SAMPLES / 2;
    // Renewals of probe-cert, and new certificates new-<i> for hosts that wait for them.
    const renewals: IssuedCert[] = [];
    for (let i = 0; i <= half; i++) renewals.push(await pki.leaf([`probe.${DOMAIN}`]));
    const fresh: IssuedCert[] = [];
    for (let i = 0; i < half; i++) fresh.push(await pki.leaf([`new-${i}.${DOMAIN}`]));
    const services = [spec('probe', 'probe-cert'), ...fresh.map((_, i) => spec(`new-${i}`, `new-${i}`))];
    const endpoints = ['probe', ...fresh.map((_, i) => `new-${i}`)].map((service) => endpoint({ service, port: pool.servers[0]!.port }));
    await putAll(kv, [...services, ...endpoints, certPut('probe-cert', renewals[0]!, key.keyring)], 100);
    const router = await startRouter({ etcd: etcd.endpoint, name: 'bench-router-l', tls: { keyFile: key.file } });
    cleanup.defer('router', () => router.stop());
    const port = router.httpsPort!;
    if ((await pollPresented(port, `probe.${DOMAIN}`, fingerprintOf(renewals[0]!))) === undefined) throw new Error('probe-cert never presented');
    const reloadsBefore = await reloads(router);

    const renewed: number[] = [];
    const added: number[] = [];
    let failures = 0;
    let lastRev = 0;
    for (let i = 0; i < half * 2; i++) {
      if (lastRev) await waitApplied(router, lastRev, 30_000);
      await sleep(GAP_MS);
      const renewal = i % 2 === 0;
      const n = Math.floor(i / 2);
      const cert = renewal ? renewals[n + 1]! : fresh[n]!;
      const host = renewal ? `probe.${DOMAIN}` : `new-${n}.${DOMAIN}`;
      const t0 = nowMs();
      lastRev = await txn(kv, [certPut(renewal ? 'probe-cert' : `new-${n}`, cert, key.keyring)]);
      const at = await pollPresented(port, host, fingerprintOf(cert));
      if (at === undefined) failures += 1;
      else (renewal ? renewed : added).push(at - t0);
    }
    const reloadsDuring = (await reloads(router)) - reloadsBefore;
    const figures: Figure[] = [
      ...latencyFigures('l', 'certificate put → presented by SNI (HAProxy), all', [...renewed, ...added], {}, failures),
      ...latencyFigures('l', 'renewal of a served certificate → presented', renewed),
      ...latencyFigures('l', 'new certificate for a waiting host → presented', added),
      { id: 'l', name: 'reloads during those certificate changes', value: String(reloadsDuring) },
    ];
    figures.push(...(await handshakeRates(port, `probe.${DOMAIN}`)));
    return figures;
  } finally {
    await cleanup.run();
  }
}

/** n) handshakes/s: N_LOOPS loops side by side, each bounded in count and time. */
async function handshakeRates(port: number, host: string): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const version of ['TLSv1.3', 'TLSv1.2'] as tls.SecureVersion[]) {
    for (const resumed of [false, true]) {
      let done = 0;
      let reused = 0;
      let errors = 0;
      const started = Date.now();
      const loop = async () => {
        let session = resumed ? (await tlsHandshake(port, host, { maxVersion: version, wantSession: true })).session : undefined;
        while (done < N_MAX_HANDSHAKES && Date.now() - started < N_MAX_MS) {
          try {
            const r = await tlsHandshake(port, host, { maxVersion: version, session, wantSession: resumed });
            done += 1;
            if (r.reused) reused += 1;
            if (resumed && r.session) session = r.session;
          } catch {
            errors += 1;
          }
        }
      };
      await Promise.all(Array.from({ length: N_LOOPS }, loop));
      const seconds = (Date.now() - started) / 1000;
      figures.push({
        id: 'n',
        name: `TLS handshakes/s through HAProxy, ${version}, ${resumed ? 'resumed' : 'full'} (${N_LOOPS} loops)`,
        value: `${(done / seconds).toFixed(0)}/s`,
      });
      figures.push({
        id: 'n',
        name: `  ${version} ${resumed ? 'resumed' : 'full'}: detail`,
        value: `${done} handshakes in ${seconds.toFixed(1)} s, ${reused} resumed, ${errors} errors`,
      });
    }
  }
  return figures;
}

/** m) 1,000 certificates, one per service. */
export async function benchCertsAtScale(): Promise<Figure[]> {
  const cleanup = new Cleanup();
  try {
    const { pki, key, etcd, kv } = await setUp(cleanup, 'm');
    const made = Date.now();
    const certs: IssuedCert[] = [];
    for (let i = 0; i <= M_CERTS; i++) certs.push(await pki.leaf([`c${i}.${DOMAIN}`]));
    console.log(`  made ${certs.length} certificates with openssl in ${((Date.now() - made) / 1000).toFixed(1)} s`);
    const specs = certs.map((_, i) => spec(`c${i}`, `c${i}`));
    const records = certs.slice(0, M_CERTS).map((cert, i) => certPut(`c${i}`, cert, key.keyring));
    const bytes = records.reduce((n, r) => n + r.value.length, 0);
    await putAll(kv, specs, 100);
    await putAll(kv, records, 50);
    const router = await startRouter({ etcd: etcd.endpoint, name: 'bench-router-m', tls: { keyFile: key.file }, readyTimeoutMs: 120_000 });
    cleanup.defer('router', () => router.stop());
    const readyAt = nowMs();
    const port = router.httpsPort!;
    const served = async () => ((await router.status()) as unknown as { tls: { served: unknown[] } }).tls.served.length;
    while ((await served()) < M_CERTS) await sleep(20);
    const allServedAt = nowMs();
    const last = await pollPresented(port, `c${M_CERTS - 1}.${DOMAIN}`, fingerprintOf(certs[M_CERTS - 1]!));
    const rss = router.rss();
    const reloadsBefore = await reloads(router);
    const t0 = nowMs();
    await txn(kv, [certPut(`c${M_CERTS}`, certs[M_CERTS]!, key.keyring)]);
    const addedAt = await pollPresented(port, `c${M_CERTS}.${DOMAIN}`, fingerprintOf(certs[M_CERTS]!), 30_000);
    const rssAfter = router.rss();
    return [
      { id: 'm', name: `${M_CERTS} certificates in etcd`, value: `${(bytes / 1024 / 1024).toFixed(1)} MiB of records (${M_CERTS} services)` },
      { id: 'm', name: 'cold start → ready (first apply done, HAProxy up)', value: ms(readyAt - router.spawnedAt) },
      { id: 'm', name: `cold start → all ${M_CERTS} certificates served`, value: ms(allServedAt - router.spawnedAt) },
      { id: 'm', name: '  of which the first apply (decrypt, write 1,000 files, start HAProxy)', value: ms(appliedDurations(router.proc, 'start')[0] ?? NaN) },
      { id: 'm', name: 'the last one presented by SNI', value: last === undefined ? 'not seen' : ms(last - router.spawnedAt) },
      { id: 'm', name: 'router RSS at start', value: `${rss.router?.toFixed(0) ?? '?'} MiB` },
      { id: 'm', name: 'HAProxy RSS at start (master + workers)', value: `${rss.haproxy.toFixed(0)} MiB in ${rss.haproxyProcesses} processes` },
      { id: 'm', name: `one more certificate at ${M_CERTS} → presented`, value: addedAt === undefined ? 'not seen' : ms(addedAt - t0) },
      { id: 'm', name: '  reloads for it', value: String((await reloads(router)) - reloadsBefore) },
      { id: 'm', name: '  RSS after it (router / HAProxy)', value: `${rssAfter.router?.toFixed(0) ?? '?'} / ${rssAfter.haproxy.toFixed(0)} MiB` },
    ];
  } finally {
    await cleanup.run();
  }
}
