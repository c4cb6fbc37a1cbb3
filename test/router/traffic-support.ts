// Shared by the traffic tests: a backend that fails on /fail, and a bounded load loop.
import http from 'node:http';
import type { HttpGetOptions, HttpResult } from '../harness/index.js';
import { listenLoopback, type Resources } from './support.js';

/** A backend answering 500 on `/fail`, 200 elsewhere, with its name as the body. */
export async function startFailingBackend(res: Resources, name: string): Promise<number> {
  const server = http.createServer((req, reply) => {
    reply.writeHead(req.url?.startsWith('/fail') ? 500 : 200, { 'content-type': 'text/plain' });
    reply.end(name);
  });
  return listenLoopback(res, server);
}

/** `n` GETs (4 in flight, keep-alive); `fail(i)` picks the ones sent to /fail. Returns "status body" → count. */
export async function loadThrough(
  request: (pathname: string, opts: HttpGetOptions) => Promise<HttpResult>,
  n: number,
  fail: (i: number) => boolean = () => false,
): Promise<Map<string, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const counts = new Map<string, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < n) {
        const i = next++;
        const r = await request(fail(i) ? '/fail' : '/', { agent, timeoutMs: 5_000 });
        const key = `${r.status} ${r.body}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }),
  );
  agent.destroy();
  return counts;
}
