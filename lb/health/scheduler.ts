/**
 * Runs every endpoint's check on its own interval, spread in time and bounded
 * in concurrency, so thousands of endpoints never fire at once:
 * - each job has a phase in its interval, from a hash of its key, so checks
 *   of many endpoints are spread evenly over the interval;
 * - a due job waits in a FIFO queue while `concurrency` checks are in flight;
 * - a job never overlaps itself, and a late job skips the slots it missed
 *   (no catch-up burst) and keeps its phase.
 */

export type JobRun = (signal: AbortSignal) => Promise<void>;

type JobState = 'waiting' | 'queued' | 'running';

interface Job {
  key: string;
  intervalMs: number;
  run: JobRun;
  state: JobState;
  /** The slot this run was due at; the next slot follows from it. */
  due: number;
  timer: NodeJS.Timeout | undefined;
  abort: AbortController | undefined;
  removed: boolean;
}

export interface SchedulerOptions {
  /** At most this many checks in flight. */
  concurrency: number;
  /** A job's run threw (runs are expected to report their own failures). */
  onError: (key: string, err: unknown) => void;
}

/** Pure: where in its interval a job runs, from its key (FNV-1a → [0, 1)). */
export function phase(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 2 ** 32;
}

/** Pure: the first slot after `now` on the grid `lastDue + k × interval`. */
export function nextDue(lastDue: number, intervalMs: number, now: number): number {
  if (now < lastDue + intervalMs) return lastDue + intervalMs;
  return lastDue + (Math.floor((now - lastDue) / intervalMs) + 1) * intervalMs;
}

export class CheckScheduler {
  private readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly options: SchedulerOptions) {
    if (!(options.concurrency >= 1)) throw new Error(`CheckScheduler: concurrency must be ≥ 1, got ${options.concurrency}`);
  }

  get size(): number {
    return this.jobs.size;
  }

  get inFlight(): number {
    return this.running.size;
  }

  get queued(): number {
    return this.queue.length;
  }

  has(key: string): boolean {
    return this.jobs.has(key);
  }

  /** Adds a job, or updates one: a new interval takes effect from the next slot. */
  set(key: string, intervalMs: number, run: JobRun): void {
    if (this.stopped) throw new Error('CheckScheduler.set() after stop()');
    const job = this.jobs.get(key);
    if (!job) {
      const created: Job = { key, intervalMs, run, state: 'waiting', due: 0, timer: undefined, abort: undefined, removed: false };
      this.jobs.set(key, created);
      this.arm(created, Date.now() + Math.floor(phase(key) * intervalMs));
      return;
    }
    job.run = run;
    if (job.intervalMs === intervalMs) return;
    job.intervalMs = intervalMs;
    if (job.state === 'waiting') {
      clearTimeout(job.timer);
      this.arm(job, Date.now() + Math.floor(phase(key) * intervalMs));
    }
  }

  /** Removes a job; a check in flight is aborted. */
  delete(key: string): void {
    const job = this.jobs.get(key);
    if (!job) return;
    this.jobs.delete(key);
    job.removed = true;
    clearTimeout(job.timer);
    job.abort?.abort();
    const queued = this.queue.indexOf(job);
    if (queued >= 0) this.queue.splice(queued, 1);
  }

  /** Idempotent: no new runs, checks in flight aborted and waited for. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const key of [...this.jobs.keys()]) this.delete(key);
    await Promise.all(this.running);
  }

  private arm(job: Job, due: number): void {
    job.state = 'waiting';
    job.due = due;
    job.timer = setTimeout(() => this.enqueue(job), Math.max(0, due - Date.now()));
    job.timer.unref?.();
  }

  private enqueue(job: Job): void {
    if (job.removed) return;
    job.state = 'queued';
    job.timer = undefined;
    this.queue.push(job);
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.options.concurrency && this.queue.length) {
      const job = this.queue.shift()!;
      job.state = 'running';
      job.abort = new AbortController();
      const done = this.execute(job).finally(() => {
        this.running.delete(done);
        this.pump();
      });
      this.running.add(done);
    }
  }

  private async execute(job: Job): Promise<void> {
    try {
      await job.run(job.abort!.signal);
    } catch (err) {
      this.options.onError(job.key, err);
    }
    job.abort = undefined;
    if (!job.removed && !this.stopped) this.arm(job, nextDue(job.due, job.intervalMs, Date.now()));
  }
}
