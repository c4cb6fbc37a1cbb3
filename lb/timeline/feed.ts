import { Keys, otherLayoutKey, parseHostKey } from '../../src/keyspace.js';
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
  private readonly known = new Map<string, KnownKey>();
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

  /**
   * The first snapshot is the baseline (no events); a later one (a re-list) records what differs.
   * Values are kept as text and decoded only when they change (the router's store has decoded
   * them already: at 100k endpoints a second decode of every one would double the start-up cost).
   */
  private onSnapshot(changes: KeyChange[]): void {
    const next = new Map<string, KnownKey>();
    for (const change of changes) {
      if (followedKey(change.key)) next.set(change.key, { raw: change.value, createRevision: change.createRevision });
    }
    const baseline = this.snapshots++ === 0;
    for (const [key, before] of this.known) if (!next.has(key)) this.change(key, before, undefined, baseline);
    for (const [key, after] of next) {
      const before = this.known.get(key);
      if (before?.raw !== after.raw) this.change(key, before, after, baseline);
    }
  }

  private onChanges(changes: KeyChange[]): void {
    for (const change of changes) {
      if (!followedKey(change.key)) continue;
      const before = this.known.get(change.key);
      if (change.type === 'delete') this.change(change.key, before, undefined, false);
      else if (before?.raw !== change.value) this.change(change.key, before, { raw: change.value, createRevision: change.createRevision }, false);
    }
  }

  private change(key: string, before: KnownKey | undefined, after: KnownKey | undefined, quiet: boolean): void {
    if (after) this.known.set(key, after);
    else this.known.delete(key);
    // Host records are few and the host book needs each; endpoints and certificates are decoded for events only.
    const isHost = parseHostKey(key) !== undefined;
    if (quiet && !isHost) return;
    // The same endpoint or host under the other key layout (an agent being upgraded) is still there:
    // a key appearing or going in one layout is no arrival and no departure.
    const twinKey = otherLayoutKey(key);
    const twin = twinKey === undefined ? undefined : this.known.get(twinKey);
    const b = (before ?? twin) && decodeFollowed(before ? key : twinKey!, (before ?? twin)!);
    const a = (after ?? twin) && decodeFollowed(after ? key : twinKey!, (after ?? twin)!);
    if (a?.kind === 'host') this.hosts.put(a.host);
    else if (b?.kind === 'host') this.hosts.gone(b.host.name);
    if (!quiet) this.timeline.recordAll(keyChangeEvents(b, a));
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

/** A followed key's last value, as etcd sent it. */
interface KnownKey {
  raw: string;
  createRevision: number;
}

function followedKey(key: string): boolean {
  return FOLLOWED_ROOTS.some((root) => key.startsWith(root));
}

/** A followed key's entry (an endpoint, host or certificate that decodes), else undefined. */
function decodeFollowed(key: string, value: KnownKey): Entry | undefined {
  const entry = decodeEntry(key, value.raw, value.createRevision);
  return followed(entry) ? entry : undefined;
}
