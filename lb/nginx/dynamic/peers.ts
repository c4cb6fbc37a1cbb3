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

/** What the router pushes: every upstream's peers, as text the Lua balancer reads line by line. */
export interface PeerState {
  /** A hash of `body`: nginx serves it back, so equal versions mean equal peer sets. */
  version: string;
  /** `upstream NAME BALANCE` then `HOST PORT WEIGHT DRAIN HEALTHY` per peer, upstreams by name. */
  body: string;
  /** The whole push: `version V` and `body`. What nginx holds reads back exactly so. */
  text: string;
  upstreams: number;
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

/** The push for these sets: sorted, so the same sets always give the same text and version. */
export function peerState(sets: readonly PeerSet[]): PeerState {
  const sorted = [...sets].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let peers = 0;
  for (const set of sorted) peers += set.peers.length;
  const body = sorted.map(block).join('');
  const version = createHash('sha256').update(body).digest('hex').slice(0, 16);
  return { version, body, text: `version ${version}\n${body}`, upstreams: sorted.length, peers };
}

const blocks = new WeakMap<PeerSet, string>();

/** One upstream's lines, peers by address: kept per set, so an apply re-serialises only what changed. */
function block(set: PeerSet): string {
  let text = blocks.get(set);
  if (text === undefined) {
    const ordered = [...set.peers].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.port - b.port));
    text = `upstream ${set.name} ${set.balance}\n${ordered.map((p) => `${p.host} ${p.port} ${p.weight} ${p.drain ? 1 : 0} ${p.healthy ? 1 : 0}\n`).join('')}`;
    blocks.set(set, text);
  }
  return text;
}

/** The version in a read-back (`version -` when nginx holds nothing yet: after a start). */
export function heldVersion(readBack: string): string | undefined {
  const version = /^version (\S+)\n/.exec(readBack)?.[1];
  return version === undefined || version === '-' ? undefined : version;
}
