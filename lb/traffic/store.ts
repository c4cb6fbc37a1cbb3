import { addInto, COUNTERS, type Counters, responses, zeroCounters } from './counters.js';
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
  /** This sample's sums, reused from sample to sample (no allocation per entity per tick). */
  scratch: Scratch;
}

interface Scratch extends Gauges {
  tick: number;
  delta: Counters;
  rtWeighted: number;
  rtWeight: number;
}

const SERVICE_VALUES = new Float64Array(14);
const MEMBER_VALUES = new Float64Array(3);

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
  private readonly touched = new Map<string, Entity[]>();
  private tick = 0;
  sampledAt: number | undefined;
  samples = 0;
  resets = 0;
  private lastPrune = 0;
  /** Endpoint keys in order, kept until an endpoint comes or goes (the /metrics cap takes the first ones). */
  private sortedKeys: string[] | undefined;
  /** What ringBytes() reports: the rings' typed arrays, added as they are allocated, taken off as entities go. */
  private bytes = 0;

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
    const tick = ++this.tick;
    const touched: Entity[] = [];
    const touch = (entity: Entity, o: Observation) => {
      if (entity.scratch.tick !== tick) {
        resetScratch(entity.scratch, tick);
        touched.push(entity);
      }
      accumulate(entity.scratch, o);
    };
    for (const o of sample.observations) {
      const service = this.service(o.service, since);
      touch(service, o);
      if (!o.owner) continue;
      touch(this.endpoint(service, o.owner.endpoint, since), o);
      if (o.owner.route !== undefined) touch(this.version(service, o.owner.route, o.owner.version ?? null, since), o);
    }
    // Gauges from this source of what it no longer reads are dropped.
    for (const entity of this.touched.get(source) ?? []) if (entity.scratch.tick !== tick) entity.gauges.delete(source);
    this.touched.set(source, touched);
    for (const entity of touched) {
      const acc = entity.scratch;
      addInto(entity.total, acc.delta);
      entity.gauges.set(source, { sessions: acc.sessions, queue: acc.queue, rtSum: acc.rtSum, rtCount: acc.rtCount });
      if (at > entity.lastSeen) entity.lastSeen = at;
      const d = acc.delta;
      const v = entity.series.ring.fields === SERVICE_FIELDS ? SERVICE_VALUES : MEMBER_VALUES;
      v[0] = d.requests;
      if (v === SERVICE_VALUES) {
        const g = sumGauges(entity);
        v[1] = d['1xx'];
        v[2] = d['2xx'];
        v[3] = d['3xx'];
        v[4] = d['4xx'];
        v[5] = d['5xx'];
        v[6] = d.other;
        v[7] = d.bytesIn;
        v[8] = d.bytesOut;
        v[9] = acc.rtWeighted;
        v[10] = acc.rtWeight;
        v[11] = g.sessions;
        v[12] = g.queue;
        v[13] = 1;
      } else {
        v[1] = d['5xx'];
        v[2] = responses(d);
      }
      const bytes = entity.series.bytes;
      entity.series.add(at, v, since);
      this.bytes += entity.series.bytes - bytes;
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
    for (const [name, s] of this.services) {
      if (s.lastSeen >= cutoff || s.endpoints.size > 0 || s.versions.size > 0) continue;
      this.services.delete(name);
      this.bytes -= s.series.bytes;
    }
    for (const [source, list] of this.touched)
      this.touched.set(
        source,
        list.filter((e) => e.lastSeen >= cutoff),
      );
  }

  /** Bytes held by the rings (the typed arrays; the maps and objects around them come on top): kept as they change. */
  ringBytes(): number {
    return this.bytes;
  }

  /** Every endpoint's key, sorted: sorted again only after endpoints came or went (100,000 keys take ~100 ms to sort). */
  sortedEndpointKeys(): readonly string[] {
    this.sortedKeys ??= [...this.endpoints.keys()].sort();
    return this.sortedKeys;
  }

  private drop(map: Map<string, MemberEntity>, key: string, entity: MemberEntity, list: 'endpoints' | 'versions'): void {
    map.delete(key);
    if (list === 'endpoints') this.sortedKeys = undefined;
    this.bytes -= entity.series.bytes;
    this.services.get(entity.service)?.[list].delete(key);
  }

  private service(name: string, at: number): ServiceEntity {
    let s = this.services.get(name);
    if (!s) {
      s = { name, endpoints: new Set(), versions: new Set(), ...newEntity(SERVICE_FIELDS, at) };
      this.services.set(name, s);
      this.bytes += s.series.bytes;
    }
    return s;
  }

  private endpoint(service: ServiceEntity, endpoint: string, at: number): MemberEntity {
    const key = `${service.name}/${endpoint}`;
    let e = this.endpoints.get(key);
    if (!e) {
      e = { service: service.name, endpoint, ...newEntity(MEMBER_FIELDS, at) };
      this.endpoints.set(key, e);
      this.sortedKeys = undefined;
      this.bytes += e.series.bytes;
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
      this.bytes += e.series.bytes;
      service.versions.add(key);
    }
    return e;
  }
}

function newEntity(fields: number, at: number): Entity {
  const scratch = { tick: 0, delta: zeroCounters(), sessions: 0, queue: 0, rtSum: 0, rtCount: 0, rtWeighted: 0, rtWeight: 0 };
  return { total: zeroCounters(), series: new PointSeries(fields, at), lastSeen: at, gauges: new Map(), scratch };
}

function resetScratch(s: Scratch, tick: number): void {
  s.tick = tick;
  for (const name of COUNTERS) s.delta[name] = 0;
  s.sessions = 0;
  s.queue = 0;
  s.rtSum = 0;
  s.rtCount = 0;
  s.rtWeighted = 0;
  s.rtWeight = 0;
}

function accumulate(acc: Scratch, o: Observation): void {
  if (o.delta) addInto(acc.delta, o.delta);
  acc.sessions += o.sessions;
  acc.queue += o.queue;
  if (o.responseTimeMs !== undefined && o.owner) {
    acc.rtSum += o.responseTimeMs;
    acc.rtCount += 1;
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
