import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import split2 from 'split2';
import { Backoff, delay } from '../src/backoff.js';
import { describeError } from '../src/errors.js';
import type { Logger } from '../src/log.js';

/** The part of a Docker event the agent reads. */
export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  timeNano?: number;
}

export type EventStreamState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closed';

/**
 * The Docker event stream, kept open: when it ends (dockerd restarted, socket
 * gone) it reconnects with backoff and says `connected` again, so the agent
 * can run a full reconcile. registrator exits here instead.
 */
export class DockerEventStream extends EventEmitter {
  private currentState: EventStreamState = 'idle';
  private stream: Readable | undefined;
  private readonly abort = new AbortController();
  private readonly backoff = new Backoff(100, 5_000);

  constructor(
    private readonly docker: Docker,
    private readonly logger: Logger,
  ) {
    super();
  }

  override on(event: 'connected', listener: () => void): this;
  override on(event: 'disconnected', listener: (reason: string) => void): this;
  override on(event: 'event', listener: (event: DockerEvent) => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: the implementation signature behind the typed overloads above
  override on(event: string, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }

  get state(): EventStreamState {
    return this.currentState;
  }

  start(): void {
    if (this.currentState !== 'idle') throw new Error(`DockerEventStream.start() in state ${this.currentState}`);
    void this.run();
  }

  close(): void {
    this.currentState = 'closed';
    this.abort.abort();
    this.stream?.destroy();
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      this.currentState = 'connecting';
      try {
        const stream = (await this.docker.getEvents({
          filters: { type: ['container', 'network'] },
        })) as unknown as Readable;
        if (this.abort.signal.aborted) {
          stream.destroy();
          break;
        }
        this.stream = stream;
        this.currentState = 'connected';
        this.backoff.reset();
        this.emit('connected');
        const reason = await this.pump(stream);
        if (this.abort.signal.aborted) break;
        this.emit('disconnected', reason);
      } catch (err) {
        if (this.abort.signal.aborted) break;
        this.emit('disconnected', describeError(err));
      }
      this.currentState = 'backoff';
      await delay(this.backoff.next(), this.abort.signal);
    }
    this.currentState = 'closed';
  }

  /** Reads events until the stream ends; resolves with why it ended. */
  private pump(stream: Readable): Promise<string> {
    return new Promise((resolve) => {
      const lines = stream.pipe(split2());
      lines.on('data', (line: string) => {
        if (!line.trim()) return;
        try {
          this.emit('event', JSON.parse(line) as DockerEvent);
        } catch (err) {
          this.logger.warn({ err: describeError(err) }, 'unparseable Docker event');
        }
      });
      let settled = false;
      const finish = (reason: string) => {
        if (settled) return;
        settled = true;
        resolve(reason);
      };
      stream.once('end', () => finish('event stream ended'));
      stream.once('close', () => finish('event stream closed'));
      stream.once('error', (err) => finish(describeError(err)));
    });
  }
}
