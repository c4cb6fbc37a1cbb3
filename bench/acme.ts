// ACME against pebble (Debian's RFC 8555 test CA), HTTP-01 validated for real through the
// routers' HAProxy (docs/tls-acme.md):
//  l) issuance time: a Service spec asking for `tls.cert: auto` put in etcd → the certificate
//     stored at certs/auto-<host>, two routers with ACME on one etcd, certificates one after the
//     other; pebble with PEBBLE_VA_NOSLEEP=1 and its ~5 % bad nonces on (acme-client retries them)
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEtcd } from '../test/harness/etcd.js';
import { startPebble } from '../test/harness/pebble.js';
import { freePort } from '../test/harness/ports.js';
import { waitFor } from '../test/harness/wait.js';
import { DOMAIN, endpoint, etcdClient, scrape, startRouter, total, txn } from './lib/fabric.js';
import { type Figure, latencyFigures, nowMs } from './lib/report.js';
import { Cleanup, startIdServers } from './lib/util.js';

const CERTS = 8;

export async function benchAcmeIssuance(): Promise<Figure[]> {
  const cleanup = new Cleanup();
  try {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-acme-'));
    cleanup.defer('temp dir', () => fs.rmSync(dir, { recursive: true, force: true }));
    const keyFile = path.join(dir, 'tls.key');
    fs.writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
    const etcd = await startEtcd({ name: 'bench-etcd-acme' });
    cleanup.defer('etcd', () => etcd.stop());
    const { client, kv } = etcdClient(etcd.endpoint);
    cleanup.defer('etcd client', () => client.close());
    const httpPort = await freePort();
    const pebble = await startPebble(path.join(dir, 'pebble'), httpPort);
    cleanup.defer('pebble', () => pebble.stop());
    const tls = `tls:\n  keyFile: ${keyFile}\n  acme:\n    directory: ${pebble.directory}\n    caBundle: ${pebble.caBundle}\n    retry: {min: 1s, max: 5s}\n`;
    const routers = [
      await startRouter({ etcd: etcd.endpoint, name: 'bench-router-acme-1', httpPort, extraConfig: tls }),
      await startRouter({ etcd: etcd.endpoint, name: 'bench-router-acme-2', extraConfig: tls }),
    ];
    for (const router of routers) cleanup.defer('router', () => router.stop());
    const pool = await startIdServers(1, 'acme');
    cleanup.defer('id servers', () => pool.close());

    const samples: number[] = [];
    for (let i = 0; i < CERTS; i++) {
      const service = `tls${i}`;
      await txn(kv, [endpoint({ service, port: pool.servers[0]!.port })]);
      const started = nowMs();
      await kv.put(`services/${service}`).value(JSON.stringify({ name: service, tls: { cert: 'auto' } }));
      await waitFor(() => kv.get(`certs/auto-${service}.${DOMAIN}`).string(), { timeoutMs: 60_000, intervalMs: 10, what: `certificate ${i}` });
      samples.push(nowMs() - started);
    }
    let orders = 0;
    for (const router of routers) orders += total(await scrape(router.apiPort), 'fabric_router_acme_orders_total', { result: 'issued' });
    return [
      ...latencyFigures('q', `ACME issuance, spec put → certificate stored (pebble, 2 routers)`, samples),
      { id: 'q', name: 'orders placed / certificates issued by pebble', value: `${orders} / ${pebble.issued()} for ${CERTS} certificates` },
    ];
  } finally {
    await cleanup.run();
  }
}
