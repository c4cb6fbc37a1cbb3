// Small pieces shared by the benchmarks: a cleanup stack, bounded concurrency, tiny HTTP
// servers that answer their own id, and "wait for this key to arrive" bookkeeping.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Things to undo, run last-in first-out; every one runs even when another fails. */
export class Cleanup {
  private readonly fns: Array<{ what: string; fn: () => Promise<unknown> | unknown }> = [];

  defer(what: string, fn: () => Promise<unknown> | unknown): void {
    this.fns.push({ what, fn });
  }

  async run(): Promise<void> {
    for (const { what, fn } of this.fns.splice(0).reverse()) {
      try {
        await fn();
      } catch (error) {
        console.warn(`[bench] cleanup "${what}" failed: ${(error as Error).message}`);
      }
    }
  }
}

export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export interface IdServer {
  id: string;
  port: number;
}

/** `n` HTTP servers on free 127.0.0.1 ports, each answering every request with its own id. */
export async function startIdServers(n: number, prefix: string): Promise<{ servers: IdServer[]; close(): Promise<void> }> {
  const running: http.Server[] = [];
  const servers: IdServer[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${prefix}-${i}`;
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(id);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    running.push(server);
    servers.push({ id, port: (server.address() as AddressInfo).port });
  }
  return {
    servers,
    close: async () => {
      await Promise.all(
        running.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.closeAllConnections();
              s.close(() => resolve());
            }),
        ),
      );
    },
  };
}

/** Times at which keys were first seen, with waiters for keys not seen yet. */
export class Arrivals {
  readonly times = new Map<string, number>();
  private readonly waiters = new Map<string, Array<(t: number) => void>>();

  note(key: string, t: number): void {
    if (this.times.has(key)) return;
    this.times.set(key, t);
    for (const resolve of this.waiters.get(key) ?? []) resolve(t);
    this.waiters.delete(key);
  }

  waitFor(key: string, timeoutMs: number): Promise<number | undefined> {
    const known = this.times.get(key);
    if (known !== undefined) return Promise.resolve(known);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      const list = this.waiters.get(key) ?? [];
      list.push((t) => {
        clearTimeout(timer);
        resolve(t);
      });
      this.waiters.set(key, list);
    });
  }
}
