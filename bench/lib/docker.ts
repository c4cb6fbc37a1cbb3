// A private dockerd for the whole bench run (the harness' own), started on first use, and a
// subscription to its event stream for the `start` events' own timestamps.
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { type DockerEngine, startDockerd } from '../../test/harness/dockerd.js';
import { buildBusyboxImage, DEFAULT_TEST_IMAGE } from '../../test/harness/image.js';

let engine: Promise<DockerEngine> | undefined;

/** The private engine with the busybox image imported. */
export function benchDocker(): Promise<DockerEngine> {
  engine ??= (async () => {
    const started = await startDockerd();
    try {
      await buildBusyboxImage(started.docker, DEFAULT_TEST_IMAGE);
    } catch (error) {
      await started.stop();
      throw error;
    }
    return started;
  })();
  return engine;
}

export async function closeBenchDocker(): Promise<void> {
  if (!engine) return;
  const started = engine;
  engine = undefined;
  await (await started).stop();
}

/** Container id → the `start` event's time (ms, from Docker's timeNano). */
export interface StartEvents {
  times: Map<string, number>;
  /** Resolves with the container's start time once its event arrived (undefined after timeoutMs). */
  waitFor(id: string, timeoutMs?: number): Promise<number | undefined>;
  close(): void;
}

export async function subscribeStarts(docker: Docker): Promise<StartEvents> {
  const stream = (await docker.getEvents({ filters: { type: ['container'], event: ['start'] } })) as unknown as Readable;
  const times = new Map<string, number>();
  const waiters = new Map<string, (t: number) => void>();
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      const event = JSON.parse(line) as { id?: string; Actor?: { ID?: string }; timeNano?: number };
      const id = event.Actor?.ID ?? event.id;
      if (!id || !event.timeNano) continue;
      const t = event.timeNano / 1e6;
      times.set(id, t);
      waiters.get(id)?.(t);
      waiters.delete(id);
    }
  });
  stream.on('error', () => undefined);
  return {
    times,
    waitFor: (id, timeoutMs = 5_000) => {
      const known = times.get(id);
      if (known !== undefined) return Promise.resolve(known);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiters.delete(id);
          resolve(undefined);
        }, timeoutMs);
        waiters.set(id, (t) => {
          clearTimeout(timer);
          resolve(t);
        });
      });
    },
    close: () => stream.destroy(),
  };
}
