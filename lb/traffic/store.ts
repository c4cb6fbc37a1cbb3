import { addInto, COUNTERS, type Counters, responses, zeroCounters } from './counters.js';
import { POINT_MS, PointSeries } from './ring.js';
import { type Observation, type Sample, saysNothing } from './sampler.js';

/** Rings of services, endpoints and versions not sampled for this long are dropped. */
export const FORGET_AFTER_MS = 15 * 60_000;

/** A service's point fields: sums over the point; gauges (sessions, queue) as sums over its samples (TrafficStore.samplesIn). */
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
} as const;
const SERVICE_FIELDS = 13;
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
  /** Its gauges now: the sums over the slots it holds, kept as their lines change. */
  gauge: Gauges;
  /** Slots (of every source) whose line is this entity's: while any is, it is not forgotten. */
  slots: number;
  /** This sample's sums, reused from sample to sample (no allocation per entity per tick). */
  scratch: Scratch;
}

/** One source's slot (a server line, or a backend's for its queue): whose it is, and its gauges at its last line. */
interface Slot {
  entities: Entity[];
  sessions: number;
  queue: number;
  responseTimeMs: number | undefined;
}

interface Scratch {
  tick: number;
  delta: Counters;
  rtWeighted: number;
  rtWeight: number;
}

const SERVICE_VALUES = new Float64Array(SERVICE_FIELDS);
const MEMBER_VALUES = new Float64Array(3);
const SERVICE_ZEROS = new Float64Array(SERVICE_FIELDS);
const MEMBER_ZEROS = new Float64Array(3);
const ONE = new Float64Array([1]);
/** A listed service's share of a sample (Sample.listed): nothing. */
const NOTHING: Observation = { service: '', owner: undefined, delta: undefined, sessions: 0, queue: 0, responseTimeMs: undefined };

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
 * sample per source read (lb/traffic/sampler.ts); no I/O. A sample carries only the slots whose
 * lines changed and those that left: a slot not in it is as it was (no traffic, same gauges), so
 * a read costs what changed, not what exists. Memory is bounded by the entity count: entities
 * that hold no slot and were not sampled for 15 minutes are dropped.
 */
export class TrafficStore {
  readonly services = new Map<string, ServiceEntity>();
  readonly endpoints = new Map<string, MemberEntity>();
  readonly versions = new Map<string, MemberEntity>();
  readonly sources = new Set<string>();
  /** Every source's slots (`source\0slot`): their owners and gauges. */
  private readonly slots = new Map<string, Slot>();
  /** Services with sessions or a queue now: they get a point at every sample (the others only when their lines change). */
  private readonly gauged = new Set<ServiceEntity>();
  /** One count per sample, by point: what a point's gauge sums are averaged over. */
  private clock: PointSeries | undefined;
  /** The last sample, and the first sample of the last two points that had any: what an entity left out of samples is caught up to. */
  private lastSample: { at: number; since: number } | undefined;
  private recentPoints: Array<{ index: number; at: number; since: number }> = [];
  private tick = 0;
  sampledAt: number | undefined;
  samples = 0;
  resets = 0;
  private lastPrune = 0;
  /** Endpoint keys in order, kept until an endpoint comes or goes (the /metrics cap takes the first ones). */
  private sortedKeys: string[] | undefined;
  /** What ringBytes() reports: the rings' typed arrays, added as they are allocated, taken off as entities go. */
  private bytes = 0;

  /** Whether the store keeps this slot's line (its owners and gauges): a line of it with nothing to say still ends or moves them. */
  holds(source: string, slot: string): boolean {
    return this.slots.has(`${source}\u0000${slot}`);
  }

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
        this.catchUp(entity);
        touched.push(entity);
      }
      accumulate(entity.scratch, o);
    };
    for (const o of sample.observations) {
      const service = this.service(o.service, since);
      touch(service, o);
      const key = `${source}\u0000${o.slot ?? ownerSlot(o)}`;
      // A line with nothing to say, of a slot no one holds: no endpoint is made for it (at 100,000
      // idle endpoints the first read made 100,000). Its first request or session makes it.
      if (saysNothing(o) && !this.slots.has(key)) continue;
      const entities: Entity[] = [service];
      if (o.owner) {
        const endpoint = this.endpoint(service, o.owner.endpoint, since);
        touch(endpoint, o);
        entities.push(endpoint);
        if (o.owner.route !== undefined) {
          const version = this.version(service, o.owner.route, o.owner.version ?? null, since);
          touch(version, o);
          entities.push(version);
        }
      }
      this.setSlot(key, entities, o);
    }
    for (const name of sample.listed ?? []) touch(this.service(name, since), NOTHING);
    for (const slot of sample.gone ?? []) this.dropSlot(`${source}\u0000${slot}`, at);
    // A point's gauges are sums over every sample it spans: services holding some take part in each.
    for (const service of this.gauged) {
      if (service.scratch.tick === tick) continue;
      resetScratch(service.scratch, tick);
      this.catchUp(service);
      touched.push(service);
    }
    this.clock ??= new PointSeries(1, since);
    this.clock.add(at, ONE, since);
    this.remember(at, since);
    for (const entity of touched) {
      const acc = entity.scratch;
      addInto(entity.total, acc.delta);
      if (at > entity.lastSeen) entity.lastSeen = at;
      const d = acc.delta;
      const v = entity.series.ring.fields === SERVICE_FIELDS ? SERVICE_VALUES : MEMBER_VALUES;
      v[0] = d.requests;
      if (v === SERVICE_VALUES) {
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
        v[11] = entity.gauge.sessions;
        v[12] = entity.gauge.queue;
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

  /** Drops what holds no slot and no source has sampled for FORGET_AFTER_MS (gone services and endpoints). */
  prune(at: number): void {
    this.lastPrune = at;
    const cutoff = at - FORGET_AFTER_MS;
    for (const [key, e] of this.endpoints) if (e.slots === 0 && e.lastSeen < cutoff) this.drop(this.endpoints, key, e, 'endpoints');
    for (const [key, e] of this.versions) if (e.slots === 0 && e.lastSeen < cutoff) this.drop(this.versions, key, e, 'versions');
    for (const [name, s] of this.services) {
      if (s.slots > 0 || s.lastSeen >= cutoff || s.endpoints.size > 0 || s.versions.size > 0) continue;
      this.services.delete(name);
      this.bytes -= s.series.bytes;
    }
  }

  /**
   * The entity with its series brought up to the last sample: an entity whose lines did not change
   * was not in the samples since, and its rates "now" must still fall to zero as time passes.
   */
  current<T extends Entity>(entity: T): T {
    this.catchUp(entity);
    return entity;
  }

  /**
   * Brings an entity's series to the last sample as if it had been in every sample since with
   * nothing to add: the first sample of each of the last two points opens its point (their
   * starts make the window), the last one ends it. Entities whose lines did not change are in
   * no sample, and this keeps their windows what they would have been.
   */
  private catchUp(entity: Entity): void {
    const series = entity.series;
    const last = this.lastSample;
    if (!last || series.openIndex < 0 || series.lastAt >= last.at) return;
    const zeros = series.ring.fields === SERVICE_FIELDS ? SERVICE_ZEROS : MEMBER_ZEROS;
    const bytes = series.bytes;
    for (const point of this.recentPoints) if (point.index > series.openIndex) series.add(point.at, zeros, point.since);
    series.add(last.at, zeros, last.since);
    this.bytes += series.bytes - bytes;
  }

  private remember(at: number, since: number): void {
    this.lastSample = { at, since };
    const index = Math.floor(at / POINT_MS);
    if (this.recentPoints.at(-1)?.index === index) return;
    this.recentPoints = [...this.recentPoints.slice(-1), { index, at, since }];
  }

  /** How many samples point `index` spans (its gauge sums are averaged over them). */
  samplesIn(index: number): number {
    return this.clock?.ring.get(index, 0) ?? 0;
  }

  private setSlot(key: string, entities: Entity[], o: Observation): void {
    const before = this.slots.get(key);
    if (before) this.release(before);
    const slot: Slot = { entities, sessions: o.sessions, queue: o.queue, responseTimeMs: o.owner ? o.responseTimeMs : undefined };
    for (const entity of entities) {
      entity.slots += 1;
      addGauges(entity.gauge, slot, 1);
    }
    this.slots.set(key, slot);
    this.regauge(slot.entities);
    if (before) this.regauge(before.entities);
  }

  private dropSlot(key: string, at: number): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    this.slots.delete(key);
    this.release(slot);
    for (const entity of slot.entities) if (at > entity.lastSeen) entity.lastSeen = at;
    this.regauge(slot.entities);
  }

  private release(slot: Slot): void {
    for (const entity of slot.entities) {
      entity.slots -= 1;
      addGauges(entity.gauge, slot, -1);
    }
  }

  private regauge(entities: Entity[]): void {
    const service = entities[0] as ServiceEntity;
    if (service.gauge.sessions > 0 || service.gauge.queue > 0) this.gauged.add(service);
    else this.gauged.delete(service);
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
  const scratch = { tick: 0, delta: zeroCounters(), rtWeighted: 0, rtWeight: 0 };
  const gauge = { sessions: 0, queue: 0, rtSum: 0, rtCount: 0 };
  return { total: zeroCounters(), series: new PointSeries(fields, at), lastSeen: at, gauge, slots: 0, scratch };
}

/** Where an observation with no slot of its own (nginx's, per owner) keeps its gauges. */
function ownerSlot(o: Observation): string {
  return `${o.service}\u0000${o.owner?.endpoint ?? ''}\u0000${o.owner?.route ?? ''}\u0000${o.owner?.version ?? ''}`;
}

function addGauges(gauge: Gauges, slot: Slot, sign: 1 | -1): void {
  gauge.sessions += sign * slot.sessions;
  gauge.queue += sign * slot.queue;
  if (slot.responseTimeMs === undefined) return;
  gauge.rtCount += sign;
  // Back to no line with a response time: exactly zero, not what float sums leave.
  gauge.rtSum = gauge.rtCount === 0 ? 0 : gauge.rtSum + sign * slot.responseTimeMs;
}

function resetScratch(s: Scratch, tick: number): void {
  s.tick = tick;
  for (const name of COUNTERS) s.delta[name] = 0;
  s.rtWeighted = 0;
  s.rtWeight = 0;
}

function accumulate(acc: Scratch, o: Observation): void {
  if (o.delta) addInto(acc.delta, o.delta);
  if (o.responseTimeMs !== undefined && o.owner) {
    const weight = o.delta?.requests ?? 0;
    acc.rtWeighted += o.responseTimeMs * weight;
    acc.rtWeight += weight;
  }
}

/** An entity's gauges now: summed over the slots it holds, in every source. */
export function sumGauges(entity: Entity): Gauges {
  return entity.gauge;
}
