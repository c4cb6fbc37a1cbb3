// A replaced endpoint stops taking requests the moment its change is applied, under load. HAProxy 2.6
// puts a connection that was in flight at `set server … addr` back in the slot's idle pool afterwards,
// still to the old address, and keeps sending the slot's requests over it; the router therefore never
// refills a slot in the plan that frees it (lb/haproxy/desired.ts, BackendSlots.free). Before that,
// the old server kept answering for 0.3–2.2 s after about one change in ten (bench d's p99).
import { describe, expect, it } from 'vitest';
import { httpGet } from '../harness/http.js';
import { endpoint, putEndpoint, replaceEndpoint, startWebServers, useRouterSuite } from './support.js';

const suite = useRouterSuite();
const HOST = 'refill.apps.test';
const CHANGES = 12;
const CHECKS_PER_CHANGE = 20;
const MAX_BACKGROUND_MS = 120_000;

/** Requests on fresh connections, `inFlight` at a time, until stopped (or the time bound): keeps server connections busy. */
function background(port: number, inFlight: number): { stop: () => Promise<void> } {
  let stopped = false;
  const deadline = Date.now() + MAX_BACKGROUND_MS;
  const workers = Array.from({ length: inFlight }, async () => {
    while (!stopped && Date.now() < deadline) await httpGet(port, HOST, '/', { timeoutMs: 5_000 }).catch(() => undefined);
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

describe('a replaced endpoint under load', () => {
  it('once the change is applied, every new request reaches the new endpoint, never the old one', async () => {
    const servers = await startWebServers(suite.perTest, ['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
    let current = endpoint({ service: 'refill', port: servers[0]!.port });
    await suite.router.waitApplied(await putEndpoint(suite.client, current));
    const load = background(suite.router.httpPort, 4);
    const stale: string[] = [];
    try {
      for (let i = 1; i <= CHANGES; i++) {
        const server = servers[i % servers.length]!;
        const next = endpoint({ service: 'refill', port: server.port });
        await suite.router.waitApplied(await replaceEndpoint(suite.client, current, next));
        current = next;
        for (let k = 0; k < CHECKS_PER_CHANGE; k++) {
          const answer = await httpGet(suite.router.httpPort, HOST);
          if (answer.body !== server.body) stale.push(`change ${i}, request ${k}: ${answer.status} ${answer.body} (want ${server.body})`);
        }
      }
    } finally {
      await load.stop();
    }
    expect(stale).toEqual([]);
  });
});
