import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FabricError } from '../../src/errors.js';
import { createTemplateEngine, loadTemplate, type TemplateFn } from '../render.js';
import type { RenderReply, RenderRequest } from './protocol.js';

const WORKER_FILE = fileURLToPath(new URL('./worker.js', import.meta.url));

/**
 * Renders a template in a worker thread, off the router's event loop. Backend views are sent
 * once and then named by id, so a change sends only the backends it touched: the main thread
 * never copies a 100,000-server view per render. A view's backends must be objects that are
 * the same while unchanged (lb/haproxy/view.ts keeps them so).
 */
export class ThreadRenderer {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  private readonly ids = new WeakMap<object, number>();
  private nextBackendId = 0;
  /** Backend ids the thread holds (those of the last request). */
  private sent = new Set<number>();
  private usesServices: Promise<boolean> | undefined;
  /** Run from the TypeScript sources (tests), there is no compiled worker: render in this thread. */
  private inThread: Promise<TemplateFn> | undefined;

  constructor(private readonly templatePath: string) {}

  /** `view.backends` travel by id; `view.services` only when the template reads it (a custom template may). */
  async render(view: { backends: object[]; services?: unknown } & Record<string, unknown>): Promise<string> {
    if (!existsSync(WORKER_FILE)) {
      this.inThread ??= loadTemplate(createTemplateEngine(), this.templatePath);
      return (await this.inThread)(view);
    }
    this.usesServices ??= readFile(this.templatePath, 'utf8').then((source) => /\bservices\b/.test(source));
    const { backends, services, ...rest } = view;
    const withServices = (await this.usesServices) ? { ...rest, services } : rest;
    const sent = new Set<number>();
    const list: Array<[number, unknown]> = backends.map((backend) => {
      let id = this.ids.get(backend);
      if (id === undefined) this.ids.set(backend, (id = ++this.nextBackendId));
      sent.add(id);
      return [id, this.sent.has(id) ? null : backend];
    });
    const id = ++this.nextId;
    const request: RenderRequest = { id, templatePath: this.templatePath, view: withServices, backends: list };
    const worker = this.start();
    const text = new Promise<string>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    worker.ref();
    worker.postMessage(request);
    this.sent = sent;
    return text;
  }

  /** Idempotent. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.sent = new Set();
    await worker?.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_FILE);
    worker.on('message', (reply: RenderReply) => this.settle(reply));
    worker.on('error', (err) => this.fail(worker, err));
    worker.on('exit', (code) => this.fail(worker, new Error(`render thread exited (${code})`)));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private settle(reply: RenderReply): void {
    const waiter = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    if (!waiter) return;
    if ('text' in reply) {
      waiter.resolve(reply.text);
      return;
    }
    // The thread may not hold what this side thinks it sent: the next render sends every backend.
    this.sent = new Set();
    waiter.reject(new FabricError(reply.error.code, reply.error.message));
  }

  /** A thread that died: every waiting render fails, and the next one starts a new thread that knows nothing. */
  private fail(worker: Worker, err: Error): void {
    if (this.worker === worker) {
      this.worker = undefined;
      this.sent = new Set();
    }
    for (const waiter of this.pending.values()) waiter.reject(new FabricError('FABRIC_ERR_RENDER', `render thread: ${err.message}`, { cause: err }));
    this.pending.clear();
  }
}
