import { describeError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { nextReadDelay } from '../haproxy/read-pace.js';

/** One source the loop reads each tick (a HAProxy's admin socket, an nginx's traffic log). */
export interface TrafficReader {
  readonly name: string;
  /** `command`: an admin socket adapter (unit tests); absent, the reader reads the socket itself. */
  read(command?: (socket: string, command: string) => Promise<string>): Promise<void>;
  /** Lets go of what the reader holds (a stat feed's thread). */
  close?(): Promise<void>;
}

export interface SamplerLoopOptions {
  intervalMs: number;
  logger: Logger;
  /** An admin socket adapter for unit tests (readers then diff in this thread). */
  command?: (socket: string, command: string) => Promise<string>;
}

/**
 * Reads the sources no one else reads every `intervalMs` (HAProxies, nginx traffic logs) (the one whose checks HAProxy runs is
 * read by the health read-back, which hands its answers over: lb/health/haproxy-checks.ts).
 * A failed read (HAProxy reloading, down) is logged once and tried again at the next tick.
 */
export class SamplerLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly failures = new Map<string, number>();
  reads = 0;
  lastReadMs: number | undefined;

  constructor(
    private readonly readers: readonly TrafficReader[],
    private readonly options: SamplerLoopOptions,
  ) {}

  start(): void {
    if (this.readers.length === 0 || this.timer || this.stopped) return;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await Promise.all(this.readers.map((reader) => reader.close?.()));
  }

  /** One read of every HAProxy (tests, and the loop). Never throws. */
  async readOnce(): Promise<void> {
    const started = Date.now();
    await Promise.all(this.readers.map((reader) => this.read(reader)));
    this.reads += 1;
    this.lastReadMs = Date.now() - started;
  }

  private async read(reader: TrafficReader): Promise<void> {
    const name = reader.name;
    try {
      await reader.read(this.options.command);
      if ((this.failures.get(name) ?? 0) > 0) this.options.logger.info({ target: name }, 'reading traffic counters again');
      this.failures.set(name, 0);
    } catch (err) {
      const failures = (this.failures.get(name) ?? 0) + 1;
      this.failures.set(name, failures);
      const log = failures === 1 ? this.options.logger.warn : this.options.logger.debug;
      log.call(this.options.logger, { target: name, err: describeError(err) }, 'could not read traffic counters');
    }
  }

  private schedule(): void {
    this.timer = setTimeout(
      () => {
        this.running = this.readOnce().finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule();
        });
      },
      nextReadDelay(this.options.intervalMs, this.lastReadMs),
    );
    this.timer.unref?.();
  }
}
