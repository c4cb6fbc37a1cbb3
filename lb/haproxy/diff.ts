import { sameBackendCheck } from '../health/backend-check.js';
import type { ServingState } from '../model.js';
import { policyKey } from '../policy/backend.js';
import { type TlsMapName, type TlsOp, tlsMapChanges, tlsOps, tlsStructuralChange } from '../tls/haproxy-diff.js';
import type { Backend, HaproxyDesired, ServerSlot, VipFrontend } from './desired.js';

export type MapName = 'hosts' | 'paths' | 'acme' | TlsMapName;

/** One Runtime API change; together they take HAProxy from one desired state to the next. */
export type RuntimeOp =
  | { kind: 'addr'; backend: string; server: string; address: string; port: number }
  | { kind: 'weight'; backend: string; server: string; weight: number }
  /** `haproxyChecks`: HAProxy's own check decides up or down, so `ready` must not force its health up. */
  | { kind: 'state'; backend: string; server: string; state: ServingState; haproxyChecks?: true }
  | { kind: 'map'; map: MapName; entries: Array<[string, string]> }
  /** Certificates (lb/tls/haproxy-diff.ts). */
  | { kind: 'tls'; op: TlsOp };

export type Change = { kind: 'none' } | { kind: 'runtime'; ops: RuntimeOp[] } | { kind: 'reload'; reason: string };

/**
 * Pure: what it takes to go from `applied` to `next`. Servers and maps change
 * through the Runtime API; anything else in the config needs a reload.
 */
export function diffHaproxy(applied: HaproxyDesired | undefined, next: HaproxyDesired): Change {
  if (!applied) return { kind: 'reload', reason: 'first apply' };
  const reason =
    structuralChange(applied.backends, next.backends) ??
    frontendChange(applied.frontends ?? [], next.frontends ?? []) ??
    tlsStructuralChange(applied.tls, next.tls);
  if (reason) return { kind: 'reload', reason };
  const ops: RuntimeOp[] = [];
  for (let b = 0; b < next.backends.length; b++) {
    const before = applied.backends[b]!;
    const after = next.backends[b]!;
    if (before === after) continue; // reused unchanged (lb/haproxy/desired.ts DesiredMemo)
    // A pool backend given back (lb/haproxy/spares.ts): its slots also lose the old addresses, as the file renders them.
    const released = after.free === true && before.free !== true;
    const checked = after.check !== undefined;
    for (let s = 0; s < after.servers.length; s++) ops.push(...serverOps(after.name, before.servers[s]!, after.servers[s]!, released, checked));
  }
  if (!sameEntries(applied.hostMap, next.hostMap)) ops.push({ kind: 'map', map: 'hosts', entries: next.hostMap });
  if (!sameEntries(applied.pathMap, next.pathMap)) ops.push({ kind: 'map', map: 'paths', entries: next.pathMap });
  if (applied.tls && next.tls) {
    for (const op of tlsOps(applied.tls, next.tls)) ops.push({ kind: 'tls', op });
    for (const change of tlsMapChanges(applied.tls, next.tls)) ops.push({ kind: 'map', ...change });
  }
  if (!sameEntries(applied.acmeMap ?? [], next.acmeMap ?? [])) ops.push({ kind: 'map', map: 'acme', entries: next.acmeMap ?? [] });
  return ops.length ? { kind: 'runtime', ops } : { kind: 'none' };
}

function structuralChange(before: Backend[], after: Backend[]): string | undefined {
  if (before.length !== after.length) return `backends ${before.length} → ${after.length}`;
  for (let i = 0; i < after.length; i++) {
    const a = before[i]!;
    const b = after[i]!;
    if (a.name !== b.name) return `backend ${a.name} → ${b.name}`;
    if (a.mode !== b.mode || a.balance !== b.balance || a.route !== b.route) return `backend ${b.name} settings changed`;
    if (a.cookie !== b.cookie) return `backend ${b.name} ${b.cookie ? 'now sticky' : 'no longer sticky'}`;
    if (!sameBackendCheck(a.check, b.check)) return `backend ${b.name} health check changed`;
    if (policyKey(a.policy) !== policyKey(b.policy)) return `backend ${b.name} traffic policy changed`;
    if (a.proto !== b.proto) return `backend ${b.name} proto changed`;
    if (a.servers.length !== b.servers.length) return `backend ${b.name} grew to ${b.servers.length} slots`;
  }
  return undefined;
}

/** A VIP frontend added, removed or changed: binds change, which only a reload does. */
function frontendChange(before: VipFrontend[], after: VipFrontend[]): string | undefined {
  const key = (f: VipFrontend) => `${f.name} ${f.address}:${f.port} ${f.mode} ${f.backend}`;
  const a = before.map(key);
  const b = after.map(key);
  if (a.length === b.length && a.every((k, i) => k === b[i])) return undefined;
  const added = b.filter((k) => !a.includes(k)).map((k) => k.split(' ')[0]);
  const removed = a.filter((k) => !b.includes(k)).map((k) => k.split(' ')[0]);
  return `VIP frontends changed (${[...added.map((n) => `+${n}`), ...removed.map((n) => `-${n}`)].join(' ') || 'order'})`;
}

function serverOps(backend: string, before: ServerSlot, after: ServerSlot, released: boolean, haproxyChecks: boolean): RuntimeOp[] {
  const server = after.name;
  if (!after.endpoint && released) return emptiedOps(backend, before, after);
  if (!after.endpoint) {
    return before.endpoint && before.state !== 'maint' ? [{ kind: 'state', backend, server, state: 'maint' }] : [];
  }
  const ops: RuntimeOp[] = [];
  const refilled = before.endpoint !== after.endpoint;
  if (refilled && before.state !== 'maint') ops.push({ kind: 'state', backend, server, state: 'maint' });
  if (before.address !== after.address || before.port !== after.port) {
    ops.push({ kind: 'addr', backend, server, address: after.address, port: after.port });
  }
  // A drained server sits at weight 0 after a reload (see the template), so a state change resends the weight.
  if (before.weight !== after.weight || refilled || before.state !== after.state) ops.push({ kind: 'weight', backend, server, weight: after.weight });
  if (before.state !== after.state || (refilled && after.state !== 'maint')) {
    ops.push({ kind: 'state', backend, server, state: after.state, ...(haproxyChecks ? { haproxyChecks: true as const } : {}) });
  }
  return ops;
}

/**
 * A slot of a released backend: maintenance first, then the empty slot's address and weight,
 * always (a slot emptied earlier still holds its last endpoint's address at run time).
 */
function emptiedOps(backend: string, before: ServerSlot, after: ServerSlot): RuntimeOp[] {
  const server = after.name;
  const ops: RuntimeOp[] = [];
  if (before.state !== 'maint') ops.push({ kind: 'state', backend, server, state: 'maint' });
  ops.push({ kind: 'addr', backend, server, address: after.address, port: after.port });
  ops.push({ kind: 'weight', backend, server, weight: after.weight });
  return ops;
}

function sameEntries(a: Array<[string, string]>, b: Array<[string, string]>): boolean {
  return a === b || (a.length === b.length && a.every(([k, v], i) => b[i]![0] === k && b[i]![1] === v));
}
