import { createHash } from 'node:crypto';
import { normalizeAddress } from '../../../src/model/entry.js';
import { type Model, type ModelEndpoint, type ServiceModel, servingState } from '../../model.js';
import { routeUpstreamName, upstreamName } from '../names.js';

/** One endpoint as nginx's balancer sees it (templates/lua/fabric_peers.lua). */
export interface Peer {
  host: string;
  port: number;
  weight: number;
  drain: boolean;
  healthy: boolean;
}

export interface PeerSet {
  /** The upstream's name in nginx.conf (`svc_<service>`, `route_<route>`). */
  name: string;
  balance: 'roundrobin' | 'leastconn' | 'source';
  peers: Peer[];
}

/** What the router makes nginx hold: every upstream's peers, as text the Lua balancer reads line by line. */
export interface PeerState {
  /** A hash of every entry: nginx serves it back, so equal versions mean equal peer sets. */
  version: string;
  /**
   * Every entry, by key: upstream name → its block (`upstream NAME BALANCE`, then `HOST PORT WEIGHT
   * DRAIN HEALTHY` per peer), upstreams by name; then `host H` → `host H UPSTREAM` (the catch-all
   * server's routes, runtime-hosts.ts), hosts by name.
   */
  blocks: ReadonlyMap<string, string>;
  upstreams: number;
  hosts: number;
  peers: number;
}

/**
 * Every upstream nginx.conf declares (dynamic mode: one per http service and active Route, empty ones
 * too) with all of its endpoints and their state: membership, weight, drain and health all change at run time.
 */
export function desiredPeerSets(model: Model): PeerSet[] {
  const services = model.services.filter((s) => s.mode === 'http').map(servicePeerSet);
  const routes = (model.weightedRoutes ?? [])
    .filter((r) => r.active)
    .map(
      (r): PeerSet => ({
        name: routeUpstreamName(r.name),
        balance: 'roundrobin',
        peers: r.groups.flatMap((g) => g.servers.map((s) => peer(s.endpoint, s.weight))),
      }),
    );
  return [...services, ...routes];
}

/** Per service model: the model keeps an unchanged service's object, so its set (and block) is built once. */
const serviceSets = new WeakMap<ServiceModel, PeerSet>();

function servicePeerSet(s: ServiceModel): PeerSet {
  let set = serviceSets.get(s);
  if (!set) serviceSets.set(s, (set = { name: upstreamName(s.name), balance: s.balance, peers: s.endpoints.map((e) => peer(e, e.weight)) }));
  return set;
}

function peer(e: ModelEndpoint, weight: number): Peer {
  const state = servingState(e);
  // IPv6 without brackets (ngx.balancer takes the address alone), in canonical form.
  const host = e.address.includes(':') ? (normalizeAddress(e.address) ?? e.address) : e.address;
  return { host, port: e.port, weight, drain: state === 'drain', healthy: state !== 'maint' };
}

/** The state for these sets and catch-all hosts: sorted, so the same input always gives the same blocks and version. */
export function peerState(sets: readonly PeerSet[], hosts: ReadonlyMap<string, string> = new Map()): PeerState {
  const sorted = [...sets].sort((a, b) => byName(a.name, b.name));
  const blocks = new Map<string, string>();
  const version = createHash('sha256');
  let peers = 0;
  for (const set of sorted) {
    const serialized = block(set);
    blocks.set(set.name, serialized.text);
    version.update(serialized.hash);
    peers += set.peers.length;
  }
  for (const host of [...hosts.keys()].sort(byName)) {
    const line = `host ${host} ${hosts.get(host)}\n`;
    blocks.set(`${HOST_KEY}${host}`, line);
    version.update(line);
  }
  return { version: version.digest('hex').slice(0, 16), blocks, upstreams: sorted.length, hosts: hosts.size, peers };
}

const HOST_KEY = 'host ';

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const fullTexts = new WeakMap<PeerState, string>();

/** The whole state as one push (`version V`, then every block): what nginx reads back after it. Built once per state. */
export function fullText(state: PeerState): string {
  let text = fullTexts.get(state);
  if (text === undefined) fullTexts.set(state, (text = `version ${state.version}\n${[...state.blocks.values()].join('')}`));
  return text;
}

/**
 * The change from `held` (what nginx was confirmed to hold) to `next`: only the blocks that differ,
 * and the upstreams that went. nginx applies it only on top of `base`, and answers with `expected`.
 */
export interface PeerPatch {
  text: string;
  expected: string;
  changed: number;
  removed: number;
}

export function peerPatch(held: PeerState, next: PeerState): PeerPatch {
  const changed: string[] = [];
  const removed: string[] = [];
  for (const [key, text] of next.blocks) if (held.blocks.get(key) !== text) changed.push(text);
  for (const key of held.blocks.keys()) if (!next.blocks.has(key)) removed.push(key);
  // A removal's line, and nginx's answer to it (each line answered with what it then holds, in the patch's order).
  const lines = (hostWord: string, upstreamWord: string) =>
    removed.map((key) => (key.startsWith(HOST_KEY) ? `${hostWord} ${key.slice(HOST_KEY.length)}\n` : `${upstreamWord} ${key}\n`)).join('');
  return {
    text: `base ${held.version}\nversion ${next.version}\n${changed.join('')}${lines('unhost', 'remove')}`,
    expected: `version ${next.version}\nupstreams ${next.upstreams}\nhosts ${next.hosts}\n${changed.join('')}${lines('nohost', 'absent')}`,
    changed: changed.length,
    removed: removed.length,
  };
}

const blocks = new WeakMap<PeerSet, { text: string; hash: string }>();

/** One upstream's lines, peers by address: kept per set, so an apply re-serialises only what changed. */
function block(set: PeerSet): { text: string; hash: string } {
  let serialized = blocks.get(set);
  if (serialized === undefined) {
    const ordered = [...set.peers].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.port - b.port));
    const text = `upstream ${set.name} ${set.balance}\n${ordered.map((p) => `${p.host} ${p.port} ${p.weight} ${p.drain ? 1 : 0} ${p.healthy ? 1 : 0}\n`).join('')}`;
    serialized = { text, hash: createHash('sha256').update(text).digest('hex') };
    blocks.set(set, serialized);
  }
  return serialized;
}

/** The version in a read-back (`version -` when nginx holds nothing yet: after a start). */
export function heldVersion(readBack: string): string | undefined {
  const version = /^version (\S+)\n/.exec(readBack)?.[1];
  return version === undefined || version === '-' ? undefined : version;
}
