import { type DestinationStream, pino } from 'pino';

/**
 * What a write error on stdout or stderr means here: the other end is gone (a pipe closed, as
 * `| tee` does on Ctrl-C; a terminal hung up: EIO). fabric keeps going; it only stops writing there.
 */
export type StdName = 'stdout' | 'stderr';

const gone: Record<StdName, string | undefined> = { stdout: undefined, stderr: undefined };
const goneListeners: Array<(name: StdName, reason: string) => void> = [];
let guarded = false;

/**
 * Once per process, before anything is written: an error on process.stdout or process.stderr
 * marks that stream gone instead of crashing the process (Node throws an unhandled stream
 * 'error', which killed `fabric up` in the middle of its shutdown).
 */
export function guardStdio(): void {
  if (guarded) return;
  guarded = true;
  for (const name of ['stdout', 'stderr'] as const) {
    process[name].on('error', (err: NodeJS.ErrnoException) => markGone(name, err.code ?? err.message));
  }
}

/** Whether writes to `name` go nowhere now, and why (e.g. `EPIPE`). */
export function stdioGone(name: StdName): string | undefined {
  return gone[name];
}

/** Called once when stdout or stderr goes (e.g. to tell the log file). */
export function onStdioGone(listener: (name: StdName, reason: string) => void): void {
  goneListeners.push(listener);
}

/** Writes `text` unless the stream is gone; never throws. Returns whether it was handed over. */
export function writeStd(name: StdName, text: string): boolean {
  guardStdio();
  const stream = process[name];
  if (gone[name] || stream.destroyed) return false;
  try {
    stream.write(text);
    return true;
  } catch (err) {
    markGone(name, (err as NodeJS.ErrnoException).code ?? String(err));
    return false;
  }
}

/**
 * JSON logs on stdout (`fabric router`, `fabric agent`): written synchronously (a line is out
 * before the process exits), and dropped once stdout is gone: the process goes on without them.
 */
export function stdoutLogDestination(): DestinationStream {
  logDestination ??= createStdoutLogDestination();
  return logDestination;
}

let logDestination: DestinationStream | undefined;

function createStdoutLogDestination(): DestinationStream {
  const sonic = pino.destination({ dest: 1, sync: true });
  sonic.on('error', (err: NodeJS.ErrnoException) => markGone('stdout', err.code ?? err.message));
  return {
    write(line: string) {
      if (!gone.stdout) sonic.write(line);
    },
  };
}

function markGone(name: StdName, reason: string): void {
  if (gone[name]) return;
  gone[name] = reason;
  for (const listener of goneListeners) listener(name, reason);
}
