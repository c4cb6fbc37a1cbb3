import { describe, expect, it } from 'vitest';
import { Timeline } from '../ring.js';
import type { TimelineKind } from '../types.js';

function filled(capacity: number, kinds: Array<[TimelineKind, string?]>): Timeline {
  let now = Date.parse('2026-12-02T05:00:00.000Z');
  const timeline = new Timeline(capacity, () => (now += 1_000));
  for (const [kind, service] of kinds) timeline.record({ kind, ...(service ? { service } : {}), message: kind });
  return timeline;
}

describe('timeline ring', () => {
  it('keeps the newest `capacity` events, newest first, with increasing ids and dated times', () => {
    const t = filled(3, [['reload'], ['runtime'], ['etcd.lost'], ['etcd.restored']]);
    expect(t.size).toBe(3);
    const events = t.query();
    expect(events.map((e) => e.id)).toEqual([4, 3, 2]);
    expect(events[0]!.at).toBe('2026-12-02T05:00:04.000Z');
  });

  it('filters by service, kind prefix, comma list, since (id or time) and limit', () => {
    const t = filled(100, [['endpoint.registered', 'web'], ['endpoint.draining', 'web'], ['endpoint.removed', 'api'], ['reload'], ['health.down', 'web']]);
    expect(t.query({ service: 'web' }).map((e) => e.kind)).toEqual(['health.down', 'endpoint.draining', 'endpoint.registered']);
    expect(t.query({ kind: 'endpoint' }).map((e) => e.id)).toEqual([3, 2, 1]);
    expect(t.query({ kind: 'reload,health' }).map((e) => e.kind)).toEqual(['health.down', 'reload']);
    expect(t.query({ kind: 'end' })).toEqual([]); // a prefix is a whole dotted part
    expect(t.query({ since: '3' }).map((e) => e.id)).toEqual([5, 4]);
    expect(t.query({ since: '2026-12-02T05:00:04.000Z' }).map((e) => e.id)).toEqual([5, 4]);
    expect(t.query({ limit: 2 }).map((e) => e.id)).toEqual([5, 4]);
    expect(t.query({ service: 'web', kind: 'endpoint', limit: 1 }).map((e) => e.kind)).toEqual(['endpoint.draining']);
  });

  it('tells listeners of each event, and one that throws does not stop the others', () => {
    const t = new Timeline(10);
    const seen: number[] = [];
    t.subscribe(() => {
      throw new Error('boom');
    });
    const off = t.subscribe((e) => seen.push(e.id));
    t.record({ kind: 'reload', message: 'r' });
    off();
    t.record({ kind: 'reload', message: 'r' });
    expect(seen).toEqual([1]);
    expect(t.size).toBe(2);
  });
});
