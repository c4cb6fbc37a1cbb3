// p) etcd leader SIGKILLed with a change made at once: how long until both routers serve it.
// Three etcd members on loopback, two routers (each with its HAProxy), one web server per sample.
// Each sample kills the leader, then puts a new endpoint through a writer client, and polls both
// routers until each answers with the new endpoint's body. Writers alternate between fabric's
// client (src/etcd.ts: a 1 s deadline per call, a timed-out call retried on another member)
// and etcd3's defaults with the 5 s deadline fabric used before, so the ratio is from one run.
import http from 'node:http';
import type net from 'node:net';
import { Etcd3 } from 'etcd3';
import { connectEtcd } from '../src/etcd.js';
import { startEtcdCluster } from '../test/harness/etcd.js';
import { DOMAIN, endpoint, PREFIX, pollServed, type RouterProcess, startRouter } from './lib/fabric.js';
import { type Figure, latencyFigures, ms, nowMs, summarize } from './lib/report.js';

const SAMPLES_PER_WRITER = 6;

type Writer = { name: 'fabric' | 'etcd3 defaults'; put(key: string, value: string): Promise<void>; close(): void };

export async function benchFailover(): Promise<Figure[]> {
  const cluster = await startEtcdCluster(3);
  const routers: RouterProcess[] = [];
  const servers: http.Server[] = [];
  try {
    for (let i = 0; i < 2; i++) routers.push(await startRouter({ etcd: cluster.endpoint, name: `bench-failover-router${i}` }));
    const writers: Writer[] = [fabricWriter(cluster.endpoint), defaultWriter(cluster.endpoint)];
    const served: Record<Writer['name'], number[]> = { fabric: [], 'etcd3 defaults': [] };
    const acked: Record<Writer['name'], number[]> = { fabric: [], 'etcd3 defaults': [] };
    let timeouts = 0;
    for (let sample = 0; sample < SAMPLES_PER_WRITER * writers.length; sample++) {
      const writer = writers[sample % writers.length]!;
      const body = `failover-${sample}`;
      const server = await webServer(body);
      servers.push(server);
      const port = (server.address() as net.AddressInfo).port;
      const leader = await cluster.waitLeader();
      await leader.kill9();
      const started = nowMs();
      const { key, value } = endpoint({ service: `fo${sample}`, port });
      await writer.put(key, value);
      acked[writer.name].push(nowMs() - started);
      const times = await Promise.all(routers.map((r) => pollServed(r.httpPort, `fo${sample}.${DOMAIN}`, body, { timeoutMs: 20_000 })));
      if (times.some((t) => t === undefined)) timeouts += 1;
      else served[writer.name].push(Math.max(...(times as number[])) - started);
      await leader.start();
      await cluster.waitLeader();
    }
    for (const w of writers) w.close();
    const ratio = summarize(served['etcd3 defaults']).p50 / summarize(served.fabric).p50;
    return [
      ...latencyFigures('p', 'leader SIGKILL + a change meanwhile → served by both routers (fabric client)', served.fabric, { p99: '≤ 3 s' }, timeouts),
      ...latencyFigures('p', 'the same, writer on etcd3 defaults with a 5 s deadline', served['etcd3 defaults']),
      { id: 'p', name: 'write acknowledged (fabric client): p50 / max', value: `${ms(summarize(acked.fabric).p50)} / ${ms(summarize(acked.fabric).max)}` },
      {
        id: 'p',
        name: 'write acknowledged (etcd3 defaults): p50 / max',
        value: `${ms(summarize(acked['etcd3 defaults']).p50)} / ${ms(summarize(acked['etcd3 defaults']).max)}`,
      },
      { id: 'p', name: 'etcd3 defaults ÷ fabric, p50 served (same run)', value: `${ratio.toFixed(1)}×` },
    ];
  } finally {
    await Promise.all(routers.map((r) => r.stop()));
    for (const s of servers) s.close();
    await cluster.stop();
  }
}

function fabricWriter(endpoints: string): Writer {
  const etcd = connectEtcd({ endpoints: endpoints.split(','), prefix: PREFIX.replace(/\/$/, '') });
  return { name: 'fabric', put: (key, value) => untilWritten(() => etcd.kv.put(key).value(value).exec()), close: () => etcd.close() };
}

/** What fabric's clients did before: etcd3's fault handling, one 5 s deadline per call. */
function defaultWriter(endpoints: string): Writer {
  const client = new Etcd3({
    hosts: endpoints.split(','),
    dialTimeout: 3_000,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + 5_000 }),
  });
  const kv = client.namespace(PREFIX);
  return { name: 'etcd3 defaults', put: (key, value) => untilWritten(() => kv.put(key).value(value).exec()), close: () => client.close() };
}

/** A write that failed is tried again, as the agent's sync loop does. */
async function untilWritten(write: () => Promise<unknown>): Promise<void> {
  for (;;) {
    try {
      await write();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function webServer(body: string): Promise<http.Server> {
  const server = http.createServer((_req, res) => res.end(body));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
