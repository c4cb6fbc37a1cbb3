import type { ErrorCode } from '../../../src/errors.js';
import type { StatDelta } from './delta.js';

/** One read: the admin socket, the command, and the differ's columns (a feed keeps its own differ in the thread, by `feed`). */
export interface StatReadRequest {
  id: number;
  feed: number;
  socket: string;
  command: string;
  columns: readonly string[];
  volatile: readonly string[];
}

/** Rows of a big delta sent ahead of its reply, so that no one message takes long to receive (the reply carries the rest). */
export interface StatReadPart {
  id: number;
  part: string[];
}

export type StatReadReply = { id: number; delta: StatDelta } | { id: number; none: string } | { id: number; error: { code: ErrorCode; message: string } };
