import { Keys } from '../../src/keyspace.js';
import { Counter, type Registry } from '../../src/metrics.js';
import { decodeEntry, type Entry } from '../../src/model/entry.js';
import type { HealthSource } from '../health/source.js';
import type { ApplyHistory } from '../history.js';
import { HostBook } from '../hosts/book.js';
import type { KeyChange } from '../store.js';
import type { Attempt } from '../tls/acme/manager.js';
import type { KeyspaceWatch, WatchState } from '../watch.js';
import { applyEvent, certFailedEvent, checkEvent, etcdEvent, followed, keyChangeEvents } from './derive.js';
import { Timeline } from './ring.js';

/** What the feed reads of the keyspace watch (lb/watch.ts). */
export type WatchEvents = Pick<KeyspaceWatch, 'on' | 'error'>;

export interface TimelineSources {
  watch: WatchEvents;
  history: ApplyHistory;
  health?: HealthSource;
  acme?: { onAttempt(listener: (attempt: Attempt) => void): () => void };
  registry?: Registry;
}

const FOLLOWED_ROOTS = [Keys.endpointsRoot, Keys.hostsRoot, Keys.certsRoot];

/**
 * Feeds the timeline from what the router already hears: the keyspace watch
 * (endpoints, host records, certificates, the watch's own state), the apply
 * history, the active health checks and ACME orders. The pure derivations
 * are in derive.ts; this keeps the last value of each followed key and the
 * host book (`GET /v1/hosts`). Every etcd change is looked at, not only the
 * model each apply builds, so an endpoint that drains and goes within one
 * debounce window still shows both steps.
 */
export class TimelineFeed {
  readonly timeline: Timeline;
  readonly hosts = new HostBook();
  private readonly known = new Map<string, Entry>();
  private snapshots = 0;
  private watchLive = false;
  private lost = false;
  private readonly counter: Counter<'kind'> | undefined;

  constructor(
    private readonly sources: TimelineSources,
    capacity = 2_000,
  ) {
    this.timeline = new Timeline(capacity);
    this.counter = sources.registry
      ? new Counter({
          name: 'fabric_router_timeline_events_total',
          help: 'Events recorded on the timeline, by kind',
          labelNames: ['kind'],
          registers: [sources.registry],
        })
      : undefined;
    if (this.counter) this.timeline.subscribe((event) => this.counter?.inc({ kind: event.kind }));
  }

  /** Subscribes to every source; call before the watch starts so the first snapshot is seen. */
  start(): void {
    const { watch, history, health, acme } = this.sources;
    watch.on('snapshot', (changes) => this.onSnapshot(changes));
    watch.on('changes', (changes) => this.onChanges(changes));
    watch.on('state', (state) => this.onWatchState(state, watch.error));
    history.onRecord((record) => {
      const event = applyEvent(record);
      if (event) this.timeline.record(event);
    });
    health?.on('change', (key, status) => this.timeline.record(checkEvent(key, status)));
    acme?.onAttempt((attempt) => {
      if (attempt.result === 'failed') this.timeline.record(certFailedEvent(attempt.name, attempt.domains, attempt.error));
    });
  }

  /** The first snapshot is the baseline (no events); a later one (a re-list) records what differs. */
  private onSnapshot(changes: KeyChange[]): void {
    const next = new Map<string, Entry>();
    for (const change of changes) {
      const entry = decodeFollowed(change);
      if (entry) next.set(entry.key, entry);
    }
    const baseline = this.snapshots++ === 0;
    for (const [key, before] of this.known) if (!next.has(key)) this.change(before, undefined, baseline);
    for (const [key, after] of next) this.change(this.known.get(key), after, baseline);
  }

  private onChanges(changes: KeyChange[]): void {
    for (const change of changes) {
      if (!FOLLOWED_ROOTS.some((root) => change.key.startsWith(root))) continue;
      const before = this.known.get(change.key);
      if (change.type === 'delete') this.change(before, undefined, false);
      else if (before?.raw !== change.value) this.change(before, decodeFollowed(change), false);
    }
  }

  private change(before: Entry | undefined, after: Entry | undefined, quiet: boolean): void {
    const key = (after ?? before)?.key;
    if (!key) return;
    if (after) this.known.set(key, after);
    else this.known.delete(key);
    if (after?.kind === 'host') this.hosts.put(after.host);
    else if (before?.kind === 'host') this.hosts.gone(before.host.name);
    if (!quiet) this.timeline.recordAll(keyChangeEvents(before, after));
  }

  private onWatchState(state: WatchState, error: string | undefined): void {
    if (state === 'watching') {
      if (this.lost) this.timeline.record(etcdEvent('etcd.restored', undefined));
      this.watchLive = true;
      this.lost = false;
    } else if (state === 'disconnected' && this.watchLive) {
      this.watchLive = false;
      this.lost = true;
      this.timeline.record(etcdEvent('etcd.lost', error));
    }
  }
}

/** A followed key's entry (an endpoint, host or certificate that decodes), else undefined. */
function decodeFollowed(change: KeyChange): Entry | undefined {
  if (!FOLLOWED_ROOTS.some((root) => change.key.startsWith(root))) return undefined;
  const entry = decodeEntry(change.key, change.value, change.createRevision);
  return followed(entry) ? entry : undefined;
}
