import { describeError } from './errors.js';
import type { Logger } from './log.js';

export interface ShutdownOptions {
  /** How long the orderly stop may take before it is forced (default 10 s). */
  graceMs?: number;
  /**
   * Stops what is still running, now: at a second signal, or when the orderly stop overran
   * its grace period. `reason` starts the line it should say ("second signal (SIGINT)").
   * Without it, the process just exits.
   */
  force?: (reason: string) => Promise<void>;
  /** How long `force` may take before the process exits anyway (default 10 s). */
  forceMs?: number;
  /** Lines for people (fabric up's terminal); the log gets them too. */
  say?: (text: string) => void;
}

/**
 * `running` → (a signal) `stopping` → (exit 0, or 1 if the stop failed)
 *                        `stopping` → (a second signal, or the grace period over) `forcing` → exit 1.
 */
type Phase = 'running' | 'stopping' | 'forcing';

/**
 * Runs `stop` once on SIGTERM, SIGINT or SIGHUP (a closed terminal), then exits. A second
 * signal, or a stop that overruns the grace period, escalates: `force` stops what is left,
 * then the process exits. (Without a handler SIGHUP killed the process on the spot, with no
 * cleanup; `nohup` never prevented that: Node resets inherited signal dispositions at start.)
 */
export function onShutdown(logger: Logger, stop: () => Promise<void>, options: ShutdownOptions = {}): void {
  let phase: Phase = 'running';
  const say = (text: string) => {
    logger.warn(text);
    options.say?.(text);
  };

  const escalate = (reason: string) => {
    phase = 'forcing';
    if (!options.force) {
      say(`${reason}: exiting now`);
      process.exit(1);
    }
    setTimeout(() => {
      logger.error('forced stop did not finish in time: exiting');
      process.exit(1);
    }, options.forceMs ?? 10_000).unref();
    options
      .force(reason)
      .catch((err) => logger.error({ err: describeError(err) }, 'forced stop failed'))
      .finally(() => process.exit(1));
  };

  const begin = (signal: NodeJS.Signals) => {
    phase = 'stopping';
    logger.info({ signal }, 'shutting down');
    const graceMs = options.graceMs ?? 10_000;
    const timer = setTimeout(() => {
      if (phase === 'stopping') escalate(`stopping took over ${Math.round(graceMs / 1000)} s`);
    }, graceMs);
    timer.unref();
    stop()
      .then(() => {
        if (phase !== 'stopping') return; // forcing: that path exits
        logger.info('stopped');
        process.exit(0);
      })
      .catch((err) => {
        if (phase !== 'stopping') return;
        logger.error({ err: describeError(err) }, 'shutdown failed');
        process.exit(1);
      });
  };

  const handle = (signal: NodeJS.Signals) => {
    if (phase === 'running') begin(signal);
    else if (phase === 'stopping') escalate(`second signal (${signal})`);
    // forcing: already on the way out
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
  process.on('SIGHUP', handle);
}
