// The stat feed's thread: reads HAProxy's admin socket and diffs each `show stat` answer against
// the last, so the router's event loop never holds a 26 MB answer or parses 120,000 lines
// (lb/haproxy/stat-feed/differ.ts); only what changed crosses over.
import { parentPort } from 'node:worker_threads';
import { FabricError } from '../../../src/errors.js';
import { haproxyCommand } from '../socket.js';
import { diffReply, StatDiffer } from './differ.js';
import type { StatReadPart, StatReadReply, StatReadRequest } from './protocol.js';

/**
 * Rows per message: a delta of 100,000 rows (a new process, every line new) took ~0.9 s to
 * receive on the router's thread as one message; in parts each is a turn of its own.
 */
const PART_ROWS = 2_000;

const differs = new Map<number, StatDiffer>();

async function read(request: StatReadRequest): Promise<StatReadReply> {
  let differ = differs.get(request.feed);
  if (!differ) differs.set(request.feed, (differ = new StatDiffer(request.columns, request.volatile)));
  return diffReply(differ, request.id, await haproxyCommand(request.socket, request.command));
}

parentPort!.on('message', (request: StatReadRequest) => {
  read(request).then(
    (reply) => {
      if ('delta' in reply) {
        const rows = reply.delta.changed;
        let start = 0;
        for (; rows.length - start > PART_ROWS; start += PART_ROWS)
          parentPort!.postMessage({ id: reply.id, part: rows.slice(start, start + PART_ROWS) } satisfies StatReadPart);
        if (start > 0) reply.delta.changed = rows.slice(start);
      }
      parentPort!.postMessage(reply);
    },
    (err: unknown) => {
      const code = err instanceof FabricError ? err.code : 'FABRIC_ERR_RUNTIME_API';
      parentPort!.postMessage({ id: request.id, error: { code, message: err instanceof Error ? err.message : String(err) } } satisfies StatReadReply);
    },
  );
});
