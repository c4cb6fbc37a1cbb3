import { type DestinationStream, type Logger, pino } from 'pino';
import { stdoutLogDestination } from './stdio.js';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Structured JSON logs on stdout (or `destination`, e.g. a file for `fabric
 * up`, which keeps stdout for people); each component gets a child logger.
 * Logging never takes the process down: once stdout is gone (a closed pipe,
 * a hung-up terminal) its lines are dropped and the process goes on.
 */
export function createLogger(level: LogLevel, component: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { component },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return pino(options, destination ?? stdoutLogDestination());
}
