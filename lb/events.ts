import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { describeError } from '../src/errors.js';
import { internalRequestHeaders } from '../src/http.js';
import type { Logger } from '../src/log.js';
import { routerDocs } from './api-docs.js';
import { steadyStatus, summarizeServices } from './dashboard/summary.js';
import type { Router } from './router.js';

/** Marks the hub's own reads of the API, so they do not fill the request log. */
export const INTERNAL_HEADER = 'x-fabric-internal';

export interface EventHubOptions {
  /** Level check: a snapshot that changed without an apply (a health result, etcd lost) goes out within this. */
  checkMs?: number;
  heartbeatMs?: number;
  /** At most one changed snapshot per this (default 1 s): a burst of applies at 1,000 services sends one, not one each. */
  minIntervalMs?: number;
  /** At most one `traffic` event per this many ms, only when the summary changed. */
  trafficMs?: number;
}

/**
 * `GET /v1/events`: server-sent events for the dashboard. A `snapshot` event
 * on connect and whenever it changes: after every apply pass (pushed by the
 * router) and on a level check each second, throttled to one per `minIntervalMs`.
 * The snapshot is the API's own answers (/v1/routes, /v1/status, /v1/certs;
 * /v1/services as a summary: counts, no endpoint arrays) plus the recent applies,
 * so whatever fields those grow, the dashboard sees. A client's first snapshot is whole; later ones leave
 * `services` out while the summary is unchanged (the client keeps the last one). Comment heartbeats keep
 * proxies from closing an idle stream.
 */
export class EventHub {
  private readonly clients = new Set<ServerResponse>();
  /** Clients that have not had a snapshot yet: they get the next one even if nothing changed. */
  private readonly fresh = new Set<ServerResponse>();
  private readonly sources = new Map<string, () => unknown>();
  private lastServices = '';
  private lastRest = '';
  private seq = 0;
  private checkTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private trafficTimer: NodeJS.Timeout | undefined;
  /** Each service's figures as last sent (JSON text). */
  private lastTraffic = new Map<string, string>();
  /** Clients that have not had a `traffic` event yet. */
  private readonly trafficFresh = new Set<ServerResponse>();
  private pending: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private lastSentAt = 0;
  private throttleTimer: NodeJS.Timeout | undefined;

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
      this.trafficFresh.add(stream);
      request.log.info({ clients: this.clients.size }, 'event stream opened');
      request.raw.on('close', () => {
        this.clients.delete(stream);
        this.fresh.delete(stream);
        this.trafficFresh.delete(stream);
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
    if (this.throttleTimer) return; // a refresh is already due
    const wait = this.lastSentAt + (this.options.minIntervalMs ?? 1_000) - Date.now();
    if (wait > 0 && this.fresh.size === 0) {
      this.throttleTimer = setTimeout(() => {
        this.throttleTimer = undefined;
        this.refresh();
      }, wait);
      this.throttleTimer.unref();
      return;
    }
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
    clearTimeout(this.throttleTimer);
    clearInterval(this.trafficTimer);
    for (const stream of this.clients) stream.end();
    this.clients.clear();
    this.fresh.clear();
  }

  private ensureTimers(): void {
    this.checkTimer ??= setInterval(() => this.refresh(), this.options.checkMs ?? 1_000);
    this.heartbeatTimer ??= setInterval(() => this.heartbeat(), this.options.heartbeatMs ?? 15_000);
    this.checkTimer.unref();
    this.heartbeatTimer.unref();
    if (this.router.traffic) {
      this.trafficTimer ??= setInterval(() => this.sendTraffic(), this.options.trafficMs ?? 2_000);
      this.trafficTimer.unref();
    }
  }

  private async broadcast(): Promise<void> {
    const { services, servicesKey, rest } = await this.snapshot();
    const servicesChanged = servicesKey !== this.lastServices;
    const changed = servicesChanged || rest !== this.lastRest;
    this.lastServices = servicesKey;
    this.lastRest = rest;
    if (changed) this.lastSentAt = Date.now();
    const full = `{"services":${services},${rest.slice(1)}`;
    for (const stream of this.clients) {
      // A client that has the service list already gets it again only when it changed.
      if (this.fresh.has(stream) || servicesChanged) this.send(stream, full);
      else if (changed) this.send(stream, rest);
    }
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

  /**
   * `event: traffic`: the /v1/traffic summary. A client's first is whole; later ones are `partial: true`
   * and carry only the services whose figures changed (and `removed` names), so 1,000 idle services cost
   * nothing and a busy one costs its own line. Nothing is sent when no service changed.
   */
  private sendTraffic(): void {
    const traffic = this.router.traffic;
    if (this.closed || !traffic || this.clients.size === 0) return;
    let summary: { sampledAt: unknown; services: Record<string, unknown> };
    let texts: Map<string, string>;
    try {
      summary = traffic.summary();
      texts = new Map(Object.entries(summary.services).map(([name, figures]) => [name, JSON.stringify(figures)]));
    } catch (err) {
      this.logger.warn({ err: describeError(err) }, 'traffic event failed');
      return;
    }
    const changed: Record<string, unknown> = {};
    for (const [name, text] of texts) if (this.lastTraffic.get(name) !== text) changed[name] = summary.services[name];
    const removed = [...this.lastTraffic.keys()].filter((name) => !texts.has(name));
    this.lastTraffic = texts;
    const any = removed.length > 0 || Object.keys(changed).length > 0;
    let full: string | undefined;
    const partial = any ? JSON.stringify({ sampledAt: summary.sampledAt, partial: true, services: changed, removed }) : '';
    for (const stream of this.clients) {
      const fresh = this.trafficFresh.has(stream);
      if (!fresh && !any) continue;
      full ??= fresh ? JSON.stringify(summary) : undefined;
      this.seq += 1;
      stream.write(`id: ${this.seq}\nevent: traffic\ndata: ${fresh ? full : partial}\n\n`);
    }
    this.trafficFresh.clear();
  }

  private heartbeat(): void {
    for (const stream of this.clients) stream.write(`: heartbeat ${new Date().toISOString()}\n\n`);
  }

  /** The snapshot as JSON texts, its service list apart (without a timestamp, so an unchanged state compares equal). */
  private async snapshot(): Promise<{ services: string; servicesKey: string; rest: string }> {
    const [services, routes, status, certs] = await Promise.all([
      this.read('/v1/services').then(withoutTraffic),
      this.read('/v1/routes'),
      this.read('/v1/status').then((status) => (status && typeof status === 'object' ? { ...status, traffic: undefined } : status)),
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
    const summary = summarizeServices(services as Parameters<typeof summarizeServices>[0]);
    return {
      services: JSON.stringify(summary),
      // The list without the model revision: a change elsewhere (a weight, a route) does not resend it.
      servicesKey: JSON.stringify(summary.services),
      rest: JSON.stringify({ revision: summary.revision, routes, status: steadyStatus(status), certs, applies: this.router.history.list(), ...extra }),
    };
  }

  private async read(url: string): Promise<unknown> {
    // The snapshot reads the API as a client would: with the token when the API needs one.
    const response = await this.app.inject({ method: 'GET', url, headers: { ...internalRequestHeaders(this.app), [INTERNAL_HEADER]: 'events' } });
    return response.json();
  }
}

/** Traffic changes every second and has its own event: the snapshot leaves it (and its status figures) out. */
function withoutTraffic(body: unknown): unknown {
  const services = (body as { services?: unknown[] }).services;
  if (!Array.isArray(services)) return body;
  return { ...(body as object), services: services.map((s) => (s && typeof s === 'object' ? { ...s, traffic: undefined } : s)) };
}
