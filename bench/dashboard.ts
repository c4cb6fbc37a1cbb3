// r) The dashboard at 1,000 services (issue 13): Chromium's navigation → service list rendered, and what
// `/v1/events` sends (bytes/s idle and while endpoints churn). The old snapshot carried the whole
// /v1/services on every change; the ratio to that is computed from sizes measured in the same run.
import http from 'node:http';
import { chromium } from 'playwright-core';
import { summarizeServices } from '../lb/dashboard/summary.js';
import { startEtcd } from '../test/harness/etcd.js';
import { endpoint, etcdClient, getJson, startRouter, txn, waitApplied } from './lib/fabric.js';
import { type Figure, ms, sleep, summarize } from './lib/report.js';
import { Cleanup } from './lib/util.js';

const SERVICES = 1_000;
const ENDPOINTS = 2;
const LOADS = 5;
const WINDOW_MS = 20_000;
const CHURN_EVERY_MS = 250;

interface StreamCount {
  bytes: number;
  /** The whole snapshot every client gets on connect. */
  firstSnapshotBytes: number;
  /** What a client gets on connect, whole: the first snapshot and the first traffic event. */
  connectBytes: number;
  events: Map<string, { count: number; bytes: number }>;
  close: () => void;
}

/** Counts what `/v1/events` sends, by event name. */
function countStream(port: number): Promise<StreamCount> {
  return new Promise((resolve, reject) => {
    const count: StreamCount = { bytes: 0, firstSnapshotBytes: 0, connectBytes: 0, events: new Map(), close: () => req.destroy() };
    let buffer = '';
    const req = http.get({ host: '127.0.0.1', port, path: '/v1/events' }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        count.bytes += Buffer.byteLength(chunk);
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const message = buffer.slice(0, end + 2);
          buffer = buffer.slice(end + 2);
          const name = /^event: (.*)$/m.exec(message)?.[1] ?? 'comment';
          const e = count.events.get(name) ?? { count: 0, bytes: 0 };
          if (name === 'snapshot' && e.count === 0) count.firstSnapshotBytes = Buffer.byteLength(message);
          if ((name === 'snapshot' || name === 'traffic') && e.count === 0) count.connectBytes += Buffer.byteLength(message);
          e.count += 1;
          e.bytes += Buffer.byteLength(message);
          count.events.set(name, e);
          end = buffer.indexOf('\n\n');
        }
      });
      resolve(count);
    });
    req.on('error', (err) => (err.message === 'socket hang up' ? undefined : reject(err)));
  });
}

function snapshotStats(c: StreamCount): string {
  return [...c.events].map(([name, e]) => `${name} ${e.count} × ${Math.round(e.bytes / Math.max(1, e.count))} B`).join(', ');
}

export async function benchDashboard(): Promise<Figure[]> {
  const cleanup = new Cleanup();
  try {
    const etcd = await startEtcd({ name: 'bench-etcd-r' });
    cleanup.defer('etcd', () => etcd.stop());
    const { client, kv } = etcdClient(etcd.endpoint);
    cleanup.defer('etcd client', () => client.close());
    const router = await startRouter({ etcd: etcd.endpoint, name: 'bench-router-r' });
    cleanup.defer('router', () => router.stop());
    const puts = [];
    for (let s = 0; s < SERVICES; s++) for (let e = 0; e < ENDPOINTS; e++) puts.push(endpoint({ service: `s${String(s).padStart(4, '0')}`, port: 9 }));
    let rev = 0;
    for (let i = 0; i < puts.length; i += 128) rev = await txn(kv, puts.slice(i, i + 128));
    await waitApplied(router, rev, 120_000);

    // Sizes in this run: the whole /v1/services (the old snapshot's part) vs the summary the snapshot carries now.
    const services = await getJson<Parameters<typeof summarizeServices>[0]>(router.apiPort, '/v1/services');
    const fullServices = Buffer.byteLength(JSON.stringify(services));
    const summaryBytes = Buffer.byteLength(JSON.stringify(summarizeServices(services)));
    const probe = await countStream(router.apiPort);
    await sleep(1_500);
    probe.close();
    const snapshotBytes = probe.firstSnapshotBytes;

    // Idle, then churn: one endpoint's weight changes every 250 ms.
    const idle = await countStream(router.apiPort);
    await sleep(WINDOW_MS / 2);
    idle.close();
    const churn = await countStream(router.apiPort);
    const churnStart = Date.now();
    for (let i = 0; Date.now() - churnStart < WINDOW_MS; i++) {
      const { key, value } = puts[(i * 37) % puts.length]!;
      await kv.put(key).value(JSON.stringify({ ...JSON.parse(value), weight: 50 + (i % 50) }));
      await sleep(CHURN_EVERY_MS);
    }
    churn.close();
    const churnSeconds = (Date.now() - churnStart) / 1000;
    const churnSnapshots = churn.events.get('snapshot')?.count ?? 0;
    // What the old snapshot would have sent for the same events: the summary swapped for the whole list
    // (a lower bound: the old hub was not throttled, so it sent at least as many snapshots).
    const oldSnapshotBytes = snapshotBytes - summaryBytes + fullServices;
    const churnBytes = churn.bytes - churn.connectBytes;
    const churnPerSecond = churnBytes / churnSeconds;
    // Before, each of those snapshots carried all of /v1/services (oldSnapshotBytes); now only a changed list.
    const laterSnapshots = churnSnapshots - 1;
    const otherBytes = churn.bytes - (churn.events.get('snapshot')?.bytes ?? 0) - (churn.connectBytes - churn.firstSnapshotBytes);
    const oldPerSecond = (otherBytes + laterSnapshots * oldSnapshotBytes) / churnSeconds;

    // Load time in Chromium: navigation start → the list rendered (its count and first rows), in-page clock.
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    cleanup.defer('chromium', () => browser.close());
    const loads: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`http://127.0.0.1:${router.apiPort}/`, { waitUntil: 'commit' });
      const handle = await page.waitForFunction(
        `document.querySelectorAll('.svc-row').length > 0 && /^${SERVICES} services$/.test(document.getElementById('service-count').textContent) ? performance.now() : 0`,
        undefined,
        { timeout: 60_000, polling: 'raf' },
      );
      loads.push(Number(await handle.jsonValue()));
      await page.close();
    }
    const load = summarize(loads);
    const connect = `on connect: snapshot ${(idle.firstSnapshotBytes / 1024).toFixed(0)} KiB + traffic ${((idle.connectBytes - idle.firstSnapshotBytes) / 1024).toFixed(0)} KiB`;
    return [
      {
        id: 'r',
        name: `dashboard load: navigation → list of ${SERVICES} services rendered (Chromium, ${LOADS} loads), p50 / max`,
        value: `${ms(load.p50)} / ${ms(load.max)}`,
      },
      {
        id: 'r',
        name: `one snapshot: summary (now) vs the whole /v1/services it carried before (${SERVICES} × ${ENDPOINTS} endpoints)`,
        value: `${(snapshotBytes / 1024).toFixed(0)} KiB vs ${(oldSnapshotBytes / 1024).toFixed(0)} KiB (×${(oldSnapshotBytes / Math.max(1, snapshotBytes)).toFixed(1)})`,
      },
      { id: 'r', name: `what a client of /v1/events gets on connect (${SERVICES} services, whole)`, value: connect },
      {
        id: 'r',
        name: `SSE idle (${WINDOW_MS / 2000} s, no change), after what a client gets on connect`,
        value: `${((idle.bytes - idle.connectBytes) / (WINDOW_MS / 2000)).toFixed(0)} B/s (${snapshotStats(idle)})`,
      },
      {
        id: 'r',
        name: `SSE while one endpoint's weight changes every ${CHURN_EVERY_MS} ms (${churnSeconds.toFixed(0)} s), after what a client gets on connect`,
        value: `${(churnPerSecond / 1024).toFixed(1)} KiB/s (${snapshotStats(churn)})`,
      },
      {
        id: 'r',
        name: 'the same snapshots carrying the whole /v1/services (as before; sizes measured here), ratio to now',
        value: `${(oldPerSecond / 1024).toFixed(1)} KiB/s, ×${(oldPerSecond / Math.max(1, churnPerSecond)).toFixed(1)}`,
      },
    ];
  } finally {
    await cleanup.run();
  }
}
