import type { TimelineEvent, TimelineInput, TimelineKind } from './types.js';

export interface TimelineQuery {
  service?: string;
  /** Comma list of kinds or prefixes: `endpoint` matches `endpoint.*`. */
  kind?: string;
  /** An event id (events after it) or an ISO time (events at or after it). */
  since?: string;
  limit?: number;
}

export const DEFAULT_LIMIT = 200;

/**
 * The events timeline: a bounded ring, newest kept, oldest dropped. Listeners
 * hear of every recorded event (SSE, metrics); a throwing listener does not
 * stop the others.
 */
export class Timeline {
  private readonly events: TimelineEvent[] = [];
  private nextId = 1;
  private readonly listeners = new Set<(event: TimelineEvent) => void>();

  constructor(
    readonly capacity = 2_000,
    private readonly now: () => number = Date.now,
  ) {}

  record(input: TimelineInput): TimelineEvent {
    const event: TimelineEvent = { id: this.nextId++, at: new Date(this.now()).toISOString(), ...input };
    this.events.push(event);
    if (this.events.length > this.capacity) this.events.splice(0, this.events.length - this.capacity);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's own failure is its to report; the event stays recorded.
      }
    }
    return event;
  }

  recordAll(inputs: Iterable<TimelineInput>): void {
    for (const input of inputs) this.record(input);
  }

  /** Returns the unsubscribe. */
  subscribe(listener: (event: TimelineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get size(): number {
    return this.events.length;
  }

  /** Newest first. */
  query(query: TimelineQuery = {}): TimelineEvent[] {
    const matches = eventFilter(query);
    const limit = Math.max(1, Math.min(query.limit ?? DEFAULT_LIMIT, this.capacity));
    const out: TimelineEvent[] = [];
    for (let i = this.events.length - 1; i >= 0 && out.length < limit; i--) {
      const event = this.events[i]!;
      if (matches(event)) out.push(event);
    }
    return out;
  }
}

/** Pure: the query as a predicate. */
export function eventFilter(query: TimelineQuery): (event: TimelineEvent) => boolean {
  const kinds = query.kind
    ?.split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const since = parseSince(query.since);
  return (event) =>
    (query.service === undefined || query.service === '' || event.service === query.service) &&
    (!kinds?.length || kinds.some((k) => kindMatches(event.kind, k))) &&
    (since === undefined || (since.id !== undefined ? event.id > since.id : Date.parse(event.at) >= since.time!));
}

function kindMatches(kind: TimelineKind, wanted: string): boolean {
  return kind === wanted || kind.startsWith(wanted.endsWith('.') ? wanted : `${wanted}.`);
}

function parseSince(since: string | undefined): { id?: number; time?: number } | undefined {
  if (since === undefined || since === '') return undefined;
  if (/^\d+$/.test(since)) return { id: Number(since) };
  const time = Date.parse(since);
  return Number.isNaN(time) ? undefined : { time };
}

/** Whether `since` is something `parseSince` understands (the API answers 400 otherwise). */
export function validSince(since: string | undefined): boolean {
  return since === undefined || since === '' || parseSince(since) !== undefined;
}
