import { type ChildInfo, childProcesses, describeChildren, killChildren, waitGone } from '../src/children.js';
import { describeError } from '../src/errors.js';
import type { Logger } from '../src/log.js';
import type { Output } from './progress.js';

/** A shutdown came while `fabric up` was still starting: not a failure, the stack stops what was started. */
export class ShutdownRequested extends Error {
  constructor() {
    super('shutdown requested while starting');
  }
}

/** How a forced stop finds and kills this process's children (tests hand in their own). */
export interface ChildControl {
  list: () => ChildInfo[];
  /** SIGKILLs them; resolves with the pids that still run after a short wait. */
  kill: (children: ChildInfo[]) => Promise<number[]>;
}

const realChildren: ChildControl = { list: () => childProcesses(), kill: (children) => waitGone(killChildren(children)) };

interface Step {
  what: string;
  stop: () => Promise<void>;
  /** The quick way, for a forced stop, of what is not a child process (which all get SIGKILL anyway). */
  force?: () => Promise<void>;
  /** Set once its orderly stop finished: a forced stop leaves it alone. */
  done?: boolean;
}

/**
 * What `fabric up` has started, stopped newest first. A shutdown may come at any moment, also
 * while a part is starting: `stopAll` first waits for the start in flight (which pushes its stop
 * before it returns), and `start` refuses to begin another, so nothing started is left behind.
 */
export class StopStack {
  private readonly steps: Step[] = [];
  private inFlight: Promise<unknown> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly out: Output,
    private readonly logger: Logger,
    private readonly children: ChildControl = realChildren,
  ) {}

  /** Whether a shutdown has begun: waits should give up. */
  get stopRequested(): boolean {
    return this.stopping !== undefined;
  }

  push(what: string, stop: () => Promise<void>, force?: () => Promise<void>): void {
    this.steps.push({ what, stop, force });
  }

  /** Runs one start (which pushes its own stop); throws ShutdownRequested when a shutdown began before or during it. */
  async start<T>(run: () => Promise<T>): Promise<T> {
    if (this.stopping) throw new ShutdownRequested();
    const started = run();
    this.inFlight = started;
    try {
      await started;
    } finally {
      this.inFlight = undefined;
    }
    if (this.stopping) throw new ShutdownRequested();
    return started;
  }

  /** Idempotent: the orderly stop of everything, newest first. */
  stopAll(): Promise<void> {
    this.stopping ??= this.run();
    return this.stopping;
  }

  /**
   * The forced stop (a second signal, or the orderly one took too long): says what it kills,
   * SIGKILLs every child process with its process group (HAProxy and its workers, etcd), and
   * runs the quick stop of each part whose orderly stop has not finished (the demo containers).
   */
  async forceAll(reason: string): Promise<void> {
    const children = this.children.list();
    const pending = this.steps.filter((s) => s.force && !s.done);
    const parts = [children.length ? `killing ${describeChildren(children)}` : 'no child process left', ...pending.map((s) => `removing the ${s.what}`)];
    this.out.line(`${reason}: stopping now — ${parts.join('; ')}`);
    this.logger.warn({ reason, children, pending: pending.map((s) => s.what) }, 'forced stop');
    await Promise.all([
      this.children.kill(children).then((left) => left.length > 0 && this.logger.error({ pids: left }, 'killed processes still running')),
      ...pending.map((s) => s.force!().catch((err) => this.logger.error({ what: s.what, err: describeError(err) }, 'forced stop failed'))),
    ]);
  }

  private async run(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
    for (const step of [...this.steps].reverse()) {
      this.out.line(`  stopping ${step.what}`);
      this.logger.info({ what: step.what }, 'stopping');
      try {
        await step.stop();
        step.done = true;
      } catch (err) {
        this.logger.error({ what: step.what, err: describeError(err) }, 'stop failed');
        this.out.line(`  ! stopping ${step.what} failed: ${describeError(err)}`);
      }
    }
  }
}
