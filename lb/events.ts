import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { describeError } from '../src/errors.js';
import type { Logger } from '../src/log.js';
import { routerDocs } from './api-docs.js';
import type { Router } from './router.js';

/** Marks the hub's own reads of the API, so they do not fill the request log. */
export const INTERNAL_HEADER = 'x-fabric-internal';

export interface EventHubOptions {
  /** Level check: a snapshot that changed without an apply (a health result, etcd lost) goes out within this. */
  checkMs?: number;
  heartbeatMs?: number;
}

/**
 * `GET /v1/events`: server-sent events for the dashboard. A `snapshot` event
 * on connect and whenever it changes: after every apply pass (pushed by the
 * router) and on a level check each second. The snapshot is the API's own
 * answers (/v1/services, /v1/routes, /v1/status, /v1/certs) plus the recent applies, so
 * whatever fields those grow, the dashboard sees. Comment heartbeats keep
 * proxies from closing an idle stream.
 */
export class EventHub {
  private readonly clients = new Set<ServerResponse>();
  /** Clients that have not had a snapshot yet: they get the next one even if nothing changed. */
  private readonly fresh = new Set<ServerResponse>();
  private readonly sources = new Map<string, () => unknown>();
  private last = '';
  private seq = 0;
  private checkTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private pending: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(
    private readonly app: FastifyInstance,
    private readonly router: Router,
    private readonly logger: Logger,
    private readonly options: EventHubOptions = {},
  ) {}

  /** Adds a section to every snapshot (e.g. `agent` in `fabric up`). */
  addSource(name: string, read: () => unknown): void {
    this.sources.set(name, read);
    this.refresh();
  }

  /** Registers the route and the hooks; call before `listen`. */
  register(): void {
    this.app.get('/v1/events', { schema: routerDocs.events }, (request, reply) => {
      reply.hijack();
      const stream = reply.raw;
      stream.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-request-id': String(request.id),
      });
      this.clients.add(stream);
      this.fresh.add(stream);
      request.log.info({ clients: this.clients.size }, 'event stream opened');
      request.raw.on('close', () => {
        this.clients.delete(stream);
        this.fresh.delete(stream);
        request.log.info({ clients: this.clients.size }, 'event stream closed');
      });
      this.ensureTimers();
      this.refresh();
    });
    this.router.history.subscribe(() => this.refresh());
    // Open streams would keep `app.close()` waiting forever: end them first.
    this.app.addHook('preClose', async () => this.close());
  }

  /** Recompute the snapshot and send it to every client if it changed. Coalesced: never two at once. */
  refresh(): void {
    if (this.closed || this.clients.size === 0) return;
    if (this.pending) {
      this.again = true;
      return;
    }
    this.pending = this.broadcast()
      .catch((err) => this.logger.warn({ err: describeError(err) }, 'event snapshot failed'))
      .finally(() => {
        this.pending = undefined;
        if (this.again) {
          this.again = false;
          this.refresh();
        }
      });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.checkTimer);
    clearInterval(this.heartbeatTimer);
    for (const stream of this.clients) stream.end();
    this.clients.clear();
    this.fresh.clear();
  }

  private ensureTimers(): void {
    this.checkTimer ??= setInterval(() => this.refresh(), this.options.checkMs ?? 1_000);
    this.heartbeatTimer ??= setInterval(() => this.heartbeat(), this.options.heartbeatMs ?? 15_000);
    this.checkTimer.unref();
    this.heartbeatTimer.unref();
  }

  private async broadcast(): Promise<void> {
    const text = await this.snapshot();
    const changed = text !== this.last;
    this.last = text;
    for (const stream of this.clients) if (changed || this.fresh.has(stream)) this.send(stream, text);
    this.fresh.clear();
  }

  private send(stream: ServerResponse, text: string): void {
    this.seq += 1;
    stream.write(`id: ${this.seq}\nevent: snapshot\ndata: ${text}\n\n`);
  }

  /** A named event (e.g. `timeline`) to every open stream, now; nothing when none is open. */
  publish(event: string, data: unknown): void {
    if (this.closed || this.clients.size === 0) return;
    this.seq += 1;
    const text = `id: ${this.seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const stream of this.clients) stream.write(text);
  }

  private heartbeat(): void {
    for (const stream of this.clients) stream.write(`: heartbeat ${new Date().toISOString()}\n\n`);
  }

  /** The snapshot as JSON text (without a timestamp, so an unchanged state compares equal). */
  private async snapshot(): Promise<string> {
    const [services, routes, status, certs] = await Promise.all([
      this.read('/v1/services'),
      this.read('/v1/routes'),
      this.read('/v1/status'),
      this.read('/v1/certs'),
    ]);
    const extra: Record<string, unknown> = {};
    for (const [name, read] of this.sources) {
      try {
        extra[name] = read();
      } catch (err) {
        extra[name] = { error: describeError(err) };
      }
    }
    return JSON.stringify({ services, routes, status, certs, applies: this.router.history.list(), ...extra });
  }

  private async read(url: string): Promise<unknown> {
    const response = await this.app.inject({ method: 'GET', url, headers: { [INTERNAL_HEADER]: 'events' } });
    return response.json();
  }
}
