import { type FileHandle, open, stat, truncate } from 'node:fs/promises';

/**
 * A log file a child process writes (its stdout and stderr, appended): the router reads what
 * it printed since an offset, for error messages. The child does not depend on the router's
 * pipes, so it keeps running (and printing) after the router is gone.
 */
export class LogFile {
  constructor(
    readonly path: string,
    /** Past this size the file is emptied before the next start or reload (the child appends: O_APPEND). */
    private readonly maxBytes = 1024 * 1024,
  ) {}

  /** An offset to read from later: the current end of the file. */
  async offset(): Promise<number> {
    return (await stat(this.path).catch(() => undefined))?.size ?? 0;
  }

  /** Keeps the file bounded; safe while the child has it open for appending. */
  async trim(): Promise<void> {
    if ((await this.offset()) > this.maxBytes) await truncate(this.path, 0).catch(() => undefined);
  }

  /** Non-empty lines written since `offset` (at most the last 64 KiB of them). */
  async linesSince(offset: number): Promise<string[]> {
    let handle: FileHandle;
    try {
      handle = await open(this.path, 'r');
    } catch {
      return [];
    }
    try {
      const { size } = await handle.stat();
      // Emptied since the offset was taken (trim): read from the start.
      const from = size < offset ? 0 : offset;
      const length = Math.min(size - from, 64 * 1024);
      if (length <= 0) return [];
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      return buffer
        .toString('utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
    } finally {
      await handle.close();
    }
  }
}
