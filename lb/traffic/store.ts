import { addInto, type Counters, responses, zeroCounters } from './counters.js';
import { PointSeries } from './ring.js';
import type { Observation, Sample } from './sampler.js';

/** Rings of services, endpoints and versions not sampled for this long are dropped. */
export const FORGET_AFTER_MS = 15 * 60_000;

/** A service's point fields: sums over the point, gauges as sum + SAMPLES. */
export const S = {
  requests: 0,
  '1xx': 1,
  '2xx': 2,
  '3xx': 3,
  '4xx': 4,
  '5xx': 5,
  other: 6,
  bytesIn: 7,
  bytesOut: 8,
  rtSum: 9,
  rtWeight: 10,
  sessions: 11,
  queue: 12,
  samples: 13,
} as const;
const SERVICE_FIELDS = 14;
/** An endpoint's or version's point fields. */
export const E = { requests: 0, '5xx': 1, responses: 2 } as const;
const MEMBER_FIELDS = 3;

/** Gauges of one entity from one source's last read. */
interface Gauges {
  sessions: number;
  queue: number;
  rtSum: number;
  rtCount: number;
}

export interface Entity {
  total: Counters;
  series: PointSeries;
  lastSeen: number;
  gauges: Map<string, Gauges>;
}

export interface ServiceEntity extends Entity {
  name: string;
  endpoints: Set<string>;
  versions: Set<string>;
}

export interface MemberEntity extends Entity {
  service: string;
  /** `<host>/<container>` for an endpoint; the route for a version. */
  endpoint?: string;
  route?: string;
  version?: string | null;
}

/**
 * The traffic of every service, endpoint and route version this router's load balancers serve:
 * cumulative totals since the router started counting, and 15 minutes of 5-s points. Fed one
 * sample per source read (lb/traffic/sampler.ts); no I/O. Memory is bounded by the entity count:
 * rings of entities not sampled for 15 minutes are dropped.
 */
export class TrafficStore {
  readonly services = new Map<string, ServiceEntity>();
  readonly endpoints = new Map<string, MemberEntity>();
  readonly versions = new Map<string, MemberEntity>();
  readonly sources = new Set<string>();
  /** Entities each source touched at its last read: their gauges from it are dropped when it stops reading them. */
  private readonly touched = new Map<string, Set<Entity>>();
  sampledAt: number | undefined;
  samples = 0;
  resets = 0;
  private lastPrune = 0;

  /** A source that will feed samples: from now on `/v1/services` carries `traffic`. */
  addSource(source: string): void {
    this.sources.add(source);
  }

  ingest(source: string, sample: Sample): void {
    this.sources.add(source);
    this.samples += 1;
    if (sample.reset) this.resets += 1;
    const { at } = sample;
    // A new entity's series starts where this sample's deltas do.
    const since = Math.min(sample.from, at);
    const byEntity = new Map<Entity, { delta: Counters; gauges: Gauges; rtWeighted: number; rtWeight: number }>();
    const touch = (entity: Entity) => {
      let acc = byEntity.get(entity);
      if (!acc) byEntity.set(entity, (acc = { delta: zeroCounters(), gauges: { sessions: 0, queue: 0, rtSum: 0, rtCount: 0 }, rtWeighted: 0, rtWeight: 0 }));
      return acc;
    };
    for (const o of sample.observations) {
      const service = this.service(o.service, since);
      const entities: Entity[] = [service];
      if (o.owner) {
        entities.push(this.endpoint(service, o.owner.endpoint, since));
        if (o.owner.route !== undefined) entities.push(this.version(service, o.owner.route, o.owner.version ?? null, since));
      }
      for (const entity of entities) accumulate(touch(entity), o);
    }
    const last = this.touched.get(source) ?? new Set<Entity>();
    for (const entity of last) if (!byEntity.has(entity)) entity.gauges.delete(source);
    this.touched.set(source, new Set(byEntity.keys()));
    for (const [entity, acc] of byEntity) {
      addInto(entity.total, acc.delta);
      entity.gauges.set(source, acc.gauges);
      entity.lastSeen = Math.max(entity.lastSeen, at);
      const d = acc.delta;
      if ('endpoints' in entity) {
        const g = sumGauges(entity);
        entity.series.add(
          at,
          [d.requests, d['1xx'], d['2xx'], d['3xx'], d['4xx'], d['5xx'], d.other, d.bytesIn, d.bytesOut, acc.rtWeighted, acc.rtWeight, g.sessions, g.queue, 1],
          since,
        );
      } else {
        entity.series.add(at, [d.requests, d['5xx'], responses(d)], since);
      }
    }
    this.sampledAt = at;
    if (at - this.lastPrune >= 60_000) this.prune(at);
  }

  /** Drops what no source has sampled for FORGET_AFTER_MS (gone services and endpoints). */
  prune(at: number): void {
    this.lastPrune = at;
    const cutoff = at - FORGET_AFTER_MS;
    for (const [key, e] of this.endpoints) if (e.lastSeen < cutoff) this.drop(this.endpoints, key, e, 'endpoints');
    for (const [key, e] of this.versions) if (e.lastSeen < cutoff) this.drop(this.versions, key, e, 'versions');
    for (const [name, s] of this.services) if (s.lastSeen < cutoff && s.endpoints.size === 0 && s.versions.size === 0) this.services.delete(name);
    for (const set of this.touched.values()) for (const e of set) if (e.lastSeen < cutoff) set.delete(e);
  }

  /** Bytes held by the rings (the typed arrays; the maps and objects around them come on top). */
  ringBytes(): number {
    let bytes = 0;
    for (const map of [this.services, this.endpoints, this.versions] as Map<string, Entity>[]) for (const e of map.values()) bytes += e.series.bytes;
    return bytes;
  }

  private drop(map: Map<string, MemberEntity>, key: string, entity: MemberEntity, list: 'endpoints' | 'versions'): void {
    map.delete(key);
    this.services.get(entity.service)?.[list].delete(key);
  }

  private service(name: string, at: number): ServiceEntity {
    let s = this.services.get(name);
    if (!s) {
      s = { name, endpoints: new Set(), versions: new Set(), ...newEntity(SERVICE_FIELDS, at) };
      this.services.set(name, s);
    }
    return s;
  }

  private endpoint(service: ServiceEntity, endpoint: string, at: number): MemberEntity {
    const key = `${service.name}/${endpoint}`;
    let e = this.endpoints.get(key);
    if (!e) {
      e = { service: service.name, endpoint, ...newEntity(MEMBER_FIELDS, at) };
      this.endpoints.set(key, e);
      service.endpoints.add(key);
    }
    return e;
  }

  private version(service: ServiceEntity, route: string, version: string | null, at: number): MemberEntity {
    const key = `${route}\u0000${service.name}\u0000${version ?? ''}`;
    let e = this.versions.get(key);
    if (!e) {
      e = { service: service.name, route, version, ...newEntity(MEMBER_FIELDS, at) };
      this.versions.set(key, e);
      service.versions.add(key);
    }
    return e;
  }
}

function newEntity(fields: number, at: number): Entity {
  return { total: zeroCounters(), series: new PointSeries(fields, at), lastSeen: at, gauges: new Map() };
}

function accumulate(acc: { delta: Counters; gauges: Gauges; rtWeighted: number; rtWeight: number }, o: Observation): void {
  if (o.delta) addInto(acc.delta, o.delta);
  acc.gauges.sessions += o.sessions;
  acc.gauges.queue += o.queue;
  if (o.responseTimeMs !== undefined && o.owner) {
    acc.gauges.rtSum += o.responseTimeMs;
    acc.gauges.rtCount += 1;
    const weight = o.delta?.requests ?? 0;
    acc.rtWeighted += o.responseTimeMs * weight;
    acc.rtWeight += weight;
  }
}

/** An entity's gauges now: summed over the sources that read it. */
export function sumGauges(entity: Entity): Gauges {
  const sum = { sessions: 0, queue: 0, rtSum: 0, rtCount: 0 };
  for (const g of entity.gauges.values()) {
    sum.sessions += g.sessions;
    sum.queue += g.queue;
    sum.rtSum += g.rtSum;
    sum.rtCount += g.rtCount;
  }
  return sum;
}
