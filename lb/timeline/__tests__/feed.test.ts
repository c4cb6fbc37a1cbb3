import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { encodeHost } from '../../../src/model/host.js';
import { ep } from '../../__tests__/fixtures.js';
import { ApplyHistory } from '../../history.js';
import type { KeyChange } from '../../store.js';
import { TimelineFeed, type WatchEvents } from '../feed.js';

/** The watch's events, emitted by the test (the real KeyspaceWatch is driven by etcd in test/router/timeline.test.ts). */
class ScriptedWatch extends EventEmitter {
  error: string | undefined;
}

const put = (key: string, value: unknown): KeyChange => ({
  type: 'put',
  key,
  value: typeof value === 'string' ? value : JSON.stringify(value),
  createRevision: 1,
});
const del = (key: string): KeyChange => ({ type: 'delete', key, value: '', createRevision: 0 });
const a = ep('web', 'a');
const b = ep('web', 'b');
const keyOf = (e: typeof a) => `endpoints/${e.service}/${e.host}/${e.container}`;
const host = { name: 'h1', address: '10.0.0.1', agentVersion: '0.1.0', started: '2026-12-02T05:00:00.000Z' };

function feed() {
  const watch = new ScriptedWatch();
  const history = new ApplyHistory();
  const f = new TimelineFeed({ watch: watch as unknown as WatchEvents, history });
  f.start();
  const kinds = () =>
    f.timeline
      .query()
      .map((e) => e.kind)
      .reverse();
  return { watch, history, f, kinds };
}

describe('timeline feed', () => {
  it('takes the first snapshot as the baseline, then records each change; a re-list records what differs', () => {
    const { watch, f, kinds } = feed();
    watch.emit('snapshot', [put(keyOf(a), a), put('hosts/h1', encodeHost(host)), put('services/x', { name: 'x' })], 5);
    expect(kinds()).toEqual([]);
    expect(f.hosts.list()).toEqual([expect.objectContaining({ host: 'h1', alive: true })]);

    watch.emit('changes', [put(keyOf(a), { ...a, state: 'draining' }), put(keyOf(b), b)], 6);
    watch.emit('changes', [put(keyOf(b), b)], 7); // the same value again: nothing
    watch.emit('changes', [del(keyOf(a))], 8);
    expect(kinds()).toEqual(['endpoint.draining', 'endpoint.registered', 'endpoint.removed']);

    // A re-list (after a compaction): b and the host are gone, a is back.
    watch.emit('snapshot', [put(keyOf(a), a)], 20);
    expect(kinds().slice(3).sort()).toEqual(['endpoint.registered', 'endpoint.removed', 'host.down']);
    expect(f.hosts.list()).toEqual([expect.objectContaining({ host: 'h1', alive: false })]);
  });

  it('an agent moving its keys to the host-scoped layout is no departure and no arrival', () => {
    const { watch, f, kinds } = feed();
    const newKey = `hosts/h1/endpoints/web/${a.container}`;
    watch.emit('snapshot', [put(keyOf(a), a), put('hosts/h1', encodeHost(host))], 5);
    watch.emit('changes', [put(newKey, a), put('hosts/h1/info', encodeHost(host))], 6);
    watch.emit('changes', [del(keyOf(a)), del('hosts/h1')], 7);
    expect(kinds()).toEqual([]);
    expect(f.hosts.list()).toEqual([expect.objectContaining({ host: 'h1', alive: true })]);
    // Gone from the last layout: gone.
    watch.emit('changes', [del(newKey), del('hosts/h1/info')], 8);
    expect(kinds()).toEqual(['endpoint.removed', 'host.down']);
  });

  it('etcd lost only once a live watch goes, restored when it is live again; applies become reloads and failures', () => {
    const { watch, history, kinds } = feed();
    watch.emit('state', 'listing');
    watch.emit('state', 'disconnected'); // never live yet: not "lost"
    watch.emit('state', 'watching');
    watch.error = 'connect ECONNREFUSED';
    watch.emit('state', 'disconnected');
    watch.emit('state', 'listing');
    watch.emit('state', 'disconnected');
    watch.emit('state', 'watching');
    history.add({ applyId: 1, at: 'x', target: 'haproxy', revision: 3, result: 'ok', action: 'reload', durationMs: 1 });
    history.add({ applyId: 2, at: 'x', target: 'haproxy', revision: 4, result: 'ok', action: 'none', durationMs: 1 });
    history.add({ applyId: 3, at: 'x', target: 'haproxy', revision: 5, result: 'failed', code: 'FABRIC_ERR_VALIDATE', message: 'bad', durationMs: 1 });
    expect(kinds()).toEqual(['etcd.lost', 'etcd.restored', 'reload', 'validation.failed']);
  });
});
