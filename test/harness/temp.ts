// Temporary directories that are removed by the test (remove()) or, if the run is aborted, by the
// process 'exit' hook: an interrupted run leaves no data dirs or keys in /tmp.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addExitCleanup } from './processes.js';

export interface TempDir {
  path: string;
  remove(): void;
}

export function makeTempDir(prefix = 'fabric-test-'): TempDir {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const removeNow = () => fs.rmSync(dir, { recursive: true, force: true });
  const forget = addExitCleanup(removeNow);
  return {
    path: dir,
    remove() {
      forget();
      removeNow();
    },
  };
}

/**
 * Replaces a file as an editor's atomic save does (a sibling written, then renamed over it).
 * A plain writeFileSync truncates first, and a watcher that reads in between sees an empty file.
 */
export function replaceFile(dest: string, content: string): void {
  const swap = path.join(path.dirname(dest), `.${path.basename(dest)}.${process.pid}.swap`);
  fs.writeFileSync(swap, content);
  fs.renameSync(swap, dest);
}
