/**
 * Runs every endpoint's check on its own interval, spread in time and bounded
 * in concurrency, so thousands of endpoints never fire at once:
 * - each job has a phase in its interval, from a hash of its key, so checks
 *   of many endpoints are spread evenly over the interval;
 * - a due job waits in a FIFO queue while `concurrency` checks are in flight;
 * - a job never overlaps itself, and a late job skips the slots it missed
 *   (no catch-up burst) and keeps its phase;
 * - one timer for all jobs, armed for the earliest due one (a min-heap of due
 *   times): at 10,000 endpoints, one timer instead of 10,000, and every job
 *   due at a tick is queued in the same pass.
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
  /** Bumped at every arm: a heap entry of an older arm is stale and skipped. */
  arms: number;
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
  private readonly heap = new DueHeap();
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Number.POSITIVE_INFINITY;
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
      const created: Job = { key, intervalMs, run, state: 'waiting', due: 0, arms: 0, abort: undefined, removed: false };
      this.jobs.set(key, created);
      this.arm(created, Date.now() + Math.floor(phase(key) * intervalMs));
      return;
    }
    job.run = run;
    if (job.intervalMs === intervalMs) return;
    job.intervalMs = intervalMs;
    if (job.state === 'waiting') this.arm(job, Date.now() + Math.floor(phase(key) * intervalMs));
  }

  /** Removes a job; a check in flight is aborted. */
  delete(key: string): void {
    const job = this.jobs.get(key);
    if (!job) return;
    this.jobs.delete(key);
    job.removed = true;
    job.abort?.abort();
    const queued = this.queue.indexOf(job);
    if (queued >= 0) this.queue.splice(queued, 1);
  }

  /** Idempotent: no new runs, checks in flight aborted and waited for. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const key of [...this.jobs.keys()]) this.delete(key);
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all(this.running);
  }

  private arm(job: Job, due: number): void {
    job.state = 'waiting';
    job.due = due;
    job.arms += 1;
    this.heap.push({ due, job, arms: job.arms });
    if (due < this.timerDue) this.rearm();
  }

  /** The one timer, for the earliest due job. */
  private rearm(): void {
    clearTimeout(this.timer);
    const next = this.heap.peek();
    if (!next || this.stopped) {
      this.timer = undefined;
      this.timerDue = Number.POSITIVE_INFINITY;
      return;
    }
    this.timerDue = next.due;
    this.timer = setTimeout(() => this.tick(), Math.max(0, next.due - Date.now()));
    this.timer.unref?.();
  }

  /** Every job due by now goes to the queue, in due order; then the timer waits for the next. */
  private tick(): void {
    this.timerDue = Number.POSITIVE_INFINITY;
    const now = Date.now();
    for (let next = this.heap.peek(); next && next.due <= now; next = this.heap.peek()) {
      this.heap.pop();
      const { job, arms } = next;
      if (job.removed || job.arms !== arms || job.state !== 'waiting') continue; // deleted or re-armed since
      job.state = 'queued';
      this.queue.push(job);
    }
    this.pump();
    this.rearm();
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

interface HeapEntry {
  due: number;
  job: Job;
  /** The job's arm count when pushed: a later arm makes this entry stale. */
  arms: number;
}

/** A binary min-heap of due times; stale entries are dropped when they reach the top. */
class DueHeap {
  private readonly items: HeapEntry[] = [];

  peek(): HeapEntry | undefined {
    return this.items[0];
  }

  push(entry: HeapEntry): void {
    const items = this.items;
    items.push(entry);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.due <= entry.due) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = entry;
  }

  pop(): HeapEntry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (!top || !last || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && items[right]!.due < items[left]!.due ? right : left;
      if (items[child]!.due >= last.due) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }
}
