import { type FSWatcher, watch } from 'chokidar';
import { describeError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';

/**
 * chokidar drops a change to a path within 50 ms of the previous one: an
 * editor's second write (or the rest of a write that came in two parts)
 * would never be seen, and the file rendered from its first half would
 * stay. So each change asks for an apply at once and once more after that
 * window; applies re-read what changed on disk and do nothing otherwise.
 */
const TRAILING_MS = 120;

export function watchFiles(paths: string[], what: string, logger: Logger, onChange: () => void): FSWatcher {
  let trailing: NodeJS.Timeout | undefined;
  const watcher = watch(paths, { ignoreInitial: true });
  watcher.on('all', (event, path) => {
    logger.debug({ event, path }, `${what} changed`);
    onChange();
    clearTimeout(trailing);
    trailing = setTimeout(onChange, TRAILING_MS);
  });
  watcher.on('error', (err) => logger.warn({ err: describeError(err) }, `${what} watch failed`));
  const close = watcher.close.bind(watcher);
  watcher.close = async () => {
    clearTimeout(trailing);
    await close();
  };
  return watcher;
}
