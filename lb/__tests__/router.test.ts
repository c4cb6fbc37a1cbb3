import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { FabricError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { createRegistry } from '../../src/metrics.js';
import { RouterMetrics } from '../metrics.js';
import type { Model } from '../model.js';
import { Router } from '../router.js';
import type { ApplyReport, Target } from '../target.js';
import type { KeyspaceWatch } from '../watch.js';

/** A watch that is live at once and emits what the test tells it to. */
class FakeWatch extends EventEmitter {
  state = 'idle';
  error: string | undefined;
  start() {
    this.state = 'watching';
    this.emit('state', 'watching');
  }
  async close() {
    this.state = 'closed';
  }
}

class FakeTarget implements Target {
  readonly name = 'fake';
  readonly kind = 'fake';
  up = false;
  fail: FabricError | undefined;
  applied: Model[] = [];
  async apply(model: Model): Promise<ApplyReport> {
    if (this.fail) throw this.fail;
    this.applied.push(model);
    const first = !this.up;
    this.up = true;
    return { action: first ? 'start' : 'runtime' };
  }
  serving() {
    return this.up;
  }
  async stop() {
    this.up = false;
  }
}

async function until(test: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!test()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function setup() {
  const watch = new FakeWatch();
  const target = new FakeTarget();
  const router = new Router(
    watch as unknown as KeyspaceWatch,
    [target],
    { domain: 'apps.test', debounce: { min: 5, max: 50 } },
    new RouterMetrics(createRegistry('router-test')),
    createLogger('silent', 'router'),
  );
  router.start();
  return { watch, target, router };
}

describe('Router readiness', () => {
  it('is ready only once a snapshot is applied and every target serves', async () => {
    const { watch, target, router } = setup();
    expect(router.readiness().reasons).toEqual(['no snapshot of the keyspace yet']);
    watch.emit('snapshot', [], 3);
    await until(() => target.applied.length === 1);
    await until(() => router.readiness().ready);
    // The load balancer died: applied once is not serving now.
    target.up = false;
    expect(router.readiness()).toEqual({ ready: false, reasons: ['target fake: not serving'] });
    target.up = true;
    expect(router.readiness().ready).toBe(true);
    await router.stop('stop');
  });

  it('reports a refused config until a later apply succeeds', async () => {
    const { watch, target, router } = setup();
    watch.emit('snapshot', [], 3);
    await until(() => router.readiness().ready);
    target.fail = new FabricError('FABRIC_ERR_VALIDATE', 'haproxy -c rejected the new config: boom');
    watch.emit('changes', [{ type: 'put', key: 'hosts/h1', value: '{}', createRevision: 4 }], 4);
    await until(() => !router.readiness().ready);
    expect(router.readiness().reasons).toEqual(['target fake: FABRIC_ERR_VALIDATE: haproxy -c rejected the new config: boom']);
    expect((router.status().targets as any[])[0]).toMatchObject({ state: 'failed', lastError: { code: 'FABRIC_ERR_VALIDATE', revision: 4 } });
    target.fail = undefined;
    watch.emit('changes', [{ type: 'put', key: 'hosts/h1', value: '{"x":1}', createRevision: 4 }], 5);
    await until(() => router.readiness().ready);
    expect(router.status()).toMatchObject({ appliedRevision: 5, state: 'running' });
    await router.stop('stop');
  });
});

describe('Router: the etcd watch in its log', () => {
  function withLog() {
    const lines: Array<{ level: string; msg: string }> = [];
    const logger = createLogger('info', 'router', { write: (line: string) => void lines.push(JSON.parse(line)) });
    const watch = new FakeWatch();
    watch.start = () => {
      watch.state = 'listing';
      watch.emit('state', 'listing');
    };
    const target = new FakeTarget();
    const router = new Router(
      watch as unknown as KeyspaceWatch,
      [target],
      { domain: 'apps.test', debounce: { min: 5, max: 50 } },
      new RouterMetrics(createRegistry('router-log-test')),
      logger,
    );
    const setState = (state: string, error?: string) => {
      watch.state = state;
      watch.error = error;
      watch.emit('state', state);
    };
    const warnings = () => lines.filter((l) => l.level === 'warn').map((l) => l.msg);
    return { lines, watch, target, router, setState, warnings };
  }

  it('says nothing is wrong on a normal start and stop', async () => {
    const { router, watch, target, setState, warnings, lines } = withLog();
    router.start();
    watch.emit('snapshot', [], 3);
    setState('watching');
    await until(() => target.applied.length === 1);
    setState('closed');
    await router.stop('stop');
    expect(warnings()).toEqual([]);
    expect(lines.map((l) => l.msg)).toContain('etcd watch live');
  });

  it('says nothing while the first list fails (the watch logs that), and nothing is served when a watch is lost before any apply', async () => {
    const { router, setState, warnings, target } = withLog();
    target.fail = new FabricError('FABRIC_ERR_VALIDATE', 'bad config');
    router.start();
    setState('disconnected', 'connect ECONNREFUSED');
    setState('listing');
    expect(warnings()).toEqual([]);
    setState('watching');
    setState('disconnected', 'connect ECONNREFUSED');
    expect(warnings()).toEqual(['etcd watch lost; nothing is served yet (no config was applied)']);
    await router.stop('stop');
  });

  it('serves the last good state once a live watch is lost after an apply, and says so once', async () => {
    const { router, watch, target, setState, warnings, lines } = withLog();
    router.start();
    watch.emit('snapshot', [], 3);
    setState('watching');
    await until(() => router.status().appliedRevision === 3);
    setState('disconnected', 'stream reset');
    setState('listing');
    setState('disconnected', 'still down');
    expect(warnings()).toEqual(['etcd watch lost; serving the last good state']);
    setState('watching');
    expect(lines.at(-1)?.msg).toBe('etcd watch live again');
    expect(target.applied.length).toBeGreaterThan(0);
    await router.stop('stop');
  });
});
