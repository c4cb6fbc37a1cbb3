import { stat } from 'node:fs/promises';
import type { Etcd3 } from 'etcd3';
import { runCommand } from '../../src/command.js';
import { describeError, FabricError } from '../../src/errors.js';
import { sameContent } from '../../src/files.js';
import type { Model } from '../model.js';
import { createEngine, type EngineName, loadTemplateFile, type TemplateEngine, type TemplateFn } from '../render.js';
import { expandCommand, type SyncResult, syncFile } from '../sync.js';
import type { TargetContext } from '../target.js';
import type { KeyValues } from '../template/kv.js';
import { KeyWatch, readKeys } from './keys.js';
import { withHostScopedSources, withOlderLayoutNames } from './older-layout.js';
import { absoluteKey, confdKeyValues, confdOrigins, PrefixedKeyValues, watchedPrefixes } from './prefix.js';

/** A confd template resource: one template over some etcd keys, rendered to one file. */
export interface ResourceSpec {
  /** Where it was declared (the TOML file, or `target <name>`), for every error message. */
  origin: string;
  /** Absolute path of the template. */
  template: string;
  /** Go text/template with confd's functions, or Handlebars (default by the template's extension). */
  engine: EngineName;
  dest: string;
  /** Key prefixes, relative to `prefix`. */
  keys: string[];
  /** Normalized (`/app`, or `/`): see prefix.ts. */
  prefix: string;
  check?: string;
  reload?: string;
  /** File mode; default: the destination's current mode, else 0644 (as confd). */
  mode?: number;
  uid?: number;
  gid?: number;
  timeoutMs: number;
}

/** What a resource needs of its target's context; `onChange` asks the router for an apply. */
export interface ResourceContext extends Pick<TargetContext, 'etcd' | 'watchClient' | 'logger' | 'mode' | 'once'> {
  /** A watched key changed. */
  onChange: () => void;
  /** How long an apply waits for the first snapshot of the keys. */
  keysTimeoutMs?: number;
}

/** Where a resource's keys come from: followed (router) or read once (`fabric render --once`). */
interface KeySource {
  ready(timeoutMs: number): Promise<void>;
  snapshot(): KeyValues;
  close(): Promise<void>;
}

class OnceKeys implements KeySource {
  private values: KeyValues | undefined;

  constructor(
    private readonly etcd: Etcd3,
    private readonly prefixes: string[],
  ) {}

  async ready(): Promise<void> {
    this.values ??= await readKeys(this.etcd, this.prefixes);
  }

  snapshot(): KeyValues {
    if (!this.values) throw new Error('OnceKeys.snapshot() before ready()');
    return this.values;
  }

  async close(): Promise<void> {}
}

/**
 * One resource's apply path, confd's `process()` as named steps:
 * load template → read keys → render (in memory) → sync (compare → stage →
 * check → swap → reload). A render that fails (a missing key, a template
 * error) throws before anything is staged: the destination is never touched.
 */
export class TemplateResource {
  private readonly keys: KeySource;
  private readonly engine: TemplateEngine;
  private template: { fn: TemplateFn; version: string } | undefined;
  /** The file is in place but its reload failed: run it again even with no change. */
  private reloadPending = false;

  constructor(
    readonly spec: ResourceSpec,
    private readonly context: ResourceContext,
  ) {
    this.engine = createEngine(spec.engine);
    // A Go template sees exactly confd's keys: each key and what is below it (lb/confd/prefix.ts).
    const asked = spec.engine === 'go' ? confdOrigins(spec.prefix, spec.keys) : watchedPrefixes(spec.prefix, spec.keys);
    // Endpoint keys in the older layout are also shown from the host-scoped ones (older-layout.ts).
    const prefixes = withHostScopedSources(asked);
    this.keys = context.once ? new OnceKeys(context.etcd, prefixes) : new KeyWatch(context.watchClient, prefixes, context.logger, context.onChange);
  }

  async apply(model: Model): Promise<SyncResult> {
    const template = await this.loadTemplate();
    const kv = await this.readKeys();
    const content = this.render(template, model, kv);
    return this.sync(content);
  }

  async close(): Promise<void> {
    await this.keys.close();
  }

  /** Compiled again only when the file changed (mtime, size): an edited template applies at the next render. */
  private async loadTemplate(): Promise<TemplateFn> {
    const info = await stat(this.spec.template).catch((err) => {
      throw new FabricError('FABRIC_ERR_RENDER', `${this.spec.origin}: template ${this.spec.template}: ${describeError(err)}`, { cause: err });
    });
    const version = `${info.mtimeMs}:${info.size}:${info.ino}`;
    if (this.template?.version !== version) this.template = { fn: await loadTemplateFile(this.engine, this.spec.template), version };
    return this.template.fn;
  }

  private async readKeys(): Promise<KeyValues> {
    await this.keys.ready(this.context.keysTimeoutMs ?? 5_000);
    const snapshot = withOlderLayoutNames(this.keys.snapshot());
    if (this.spec.engine === 'go') return confdKeyValues(snapshot, this.spec.prefix, this.spec.keys);
    return new PrefixedKeyValues(snapshot, this.spec.prefix);
  }

  private render(template: TemplateFn, model: Model, kv: KeyValues): string {
    try {
      return template(templateView(model, this.spec), { kv });
    } catch (err) {
      throw asMissingKey(err, this.spec) ?? err;
    }
  }

  private async sync(content: string): Promise<SyncResult> {
    const mode = this.context.mode;
    const fileSpec = {
      dest: this.spec.dest,
      mode: this.spec.mode ?? (await currentMode(this.spec.dest)),
      uid: this.spec.uid,
      gid: this.spec.gid,
      check: this.spec.check,
      reload: this.spec.reload,
      timeoutMs: this.spec.timeoutMs,
    };
    let result: SyncResult;
    try {
      result = await syncFile(fileSpec, content, mode);
    } catch (err) {
      // The swap happened and the reload failed: the next apply reloads even without a change.
      if (mode === 'normal' && this.spec.reload && (await sameContent(this.spec.dest, content))) this.reloadPending = true;
      throw err;
    }
    if (!result.changed && this.reloadPending && mode === 'normal') {
      await this.reload();
      return { changed: true, action: 'reload', diff: '' };
    }
    if (result.changed && result.action !== 'noop') this.reloadPending = false;
    return result;
  }

  private async reload(): Promise<void> {
    await runCommand(expandCommand(this.spec.reload!, { src: this.spec.dest, dest: this.spec.dest }), { timeoutMs: this.spec.timeoutMs });
    this.reloadPending = false;
  }
}

/**
 * What a file template sees: the fabric model (services with their
 * endpoints, routes, host rules) next to the keys it reads with getv & co.
 */
export function templateView(model: Model, spec: Pick<ResourceSpec, 'dest' | 'prefix'>): Record<string, unknown> {
  return {
    revision: model.revision,
    services: model.services,
    routes: model.routes,
    hostRules: model.hostRules,
    dest: spec.dest,
    prefix: spec.prefix,
  };
}

/** A helper's missing-key error, surfaced with its own code and the resource that hit it. */
function asMissingKey(err: unknown, spec: ResourceSpec): FabricError | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof FabricError && e.code === 'FABRIC_ERR_MISSING_KEY') {
      const key = e.details?.key;
      const scope = spec.prefix === '/' || typeof key !== 'string' ? '' : ` (etcd key ${absoluteKey(spec.prefix, key)}, under prefix ${spec.prefix})`;
      return new FabricError('FABRIC_ERR_MISSING_KEY', `${spec.origin}: ${e.message}${scope}; ${spec.dest} left as it was`, {
        cause: err,
        details: e.details,
      });
    }
  }
  return undefined;
}

async function currentMode(dest: string): Promise<number> {
  try {
    return (await stat(dest)).mode & 0o7777;
  } catch {
    return 0o644;
  }
}
