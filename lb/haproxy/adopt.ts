import { readFile } from 'node:fs/promises';
import { runsWith } from '../../src/proc.js';
import { type RuntimeTls, runningTls } from '../tls/haproxy-adopt.js';
import type { TlsFiles } from '../tls/haproxy-desired.js';
import { crtListLines } from '../tls/haproxy-runtime.js';
import type { BackendSlots, HaproxyDesired, ServerSlot, SlotTable } from './desired.js';
import type { LoadedStructure } from './loaded.js';

export type { RuntimeTls } from '../tls/haproxy-adopt.js';

import { parseServersState, parseShowMap, type RuntimeServer, runtimeServingState } from './runtime-state.js';
import { haproxyCommand, type ProcInfo, parseShowProc } from './socket.js';

/**
 * A router owns its HAProxy across its own restarts and crashes: on start it
 * looks next to its config for a master an earlier router left running, and
 * takes it over instead of starting a second HAProxy on the same ports.
 */
export type Found =
  | { kind: 'none' }
  /** A live master of this config with workers: adopt it. */
  | { kind: 'usable'; info: ProcInfo }
  /** A master of this config that cannot be driven: stop it before starting afresh. */
  | { kind: 'unusable'; pid: number; reason: string };

export interface Whereabouts {
  binary: string;
  configPath: string;
  masterSocket: string;
  pidFile: string;
}

/** What runs next to the config: asks the master CLI, and checks the pid really is HAProxy on this config. */
export async function findRunning(where: Whereabouts): Promise<Found> {
  const ours = (pid: number) => runsWith(pid, where.binary, where.configPath);
  const text = await haproxyCommand(where.masterSocket, 'show proc', 2_000).catch(() => undefined);
  const info = text === undefined ? undefined : parseShowProc(text);
  if (info && ours(info.masterPid)) {
    return info.workers.length > 0 ? { kind: 'usable', info } : { kind: 'unusable', pid: info.masterPid, reason: 'its master has no workers' };
  }
  const pid = Number((await readFile(where.pidFile, 'utf8').catch(() => '')).trim());
  if (pid > 0 && ours(pid)) {
    const why = text === undefined ? 'its master CLI does not answer' : `unexpected "show proc" answer: ${text.slice(0, 80)}`;
    return { kind: 'unusable', pid, reason: why };
  }
  return { kind: 'none' };
}

export interface RuntimeFiles {
  adminSocket: string;
  hostsMap: string;
  pathsMap: string;
  acmeMap: string;
  tls?: TlsFiles;
}

export interface Runtime {
  servers: RuntimeServer[];
  hostMap: Array<[string, string]>;
  pathMap: Array<[string, string]>;
  acmeMap: Array<[string, string]>;
  tls?: RuntimeTls;
}

/** What HAProxy runs, read back over the admin socket: every server's values, the maps, the certificates. */
export async function readRuntime(files: RuntimeFiles): Promise<Runtime> {
  const [state, hosts, paths, acme, tls] = await Promise.all([
    haproxyCommand(files.adminSocket, 'show servers state', 5_000),
    haproxyCommand(files.adminSocket, `show map ${files.hostsMap}`, 5_000),
    haproxyCommand(files.adminSocket, `show map ${files.pathsMap}`, 5_000),
    haproxyCommand(files.adminSocket, `show map ${files.acmeMap}`, 5_000),
    files.tls ? readTls(files.adminSocket, files.tls) : undefined,
  ]);
  const servers = parseServersState(state);
  if (!servers) throw new Error(`unexpected "show servers state" answer: ${state.slice(0, 120)}`);
  return { servers, hostMap: parseShowMap(hosts), pathMap: parseShowMap(paths), acmeMap: parseShowMap(acme), ...(tls ? { tls } : {}) };
}

/** undefined when HAProxy runs no such crt-list (a config from before HTTPS was configured). */
async function readTls(socket: string, files: TlsFiles): Promise<RuntimeTls | undefined> {
  const crtList = await crtListLines(socket, files.crtList).catch(() => undefined);
  if (!crtList) return undefined;
  const map = async (file: string) => parseShowMap(await haproxyCommand(socket, `show map ${file}`, 5_000));
  return { crtList, hostsMap: await map(files.hostsMap), redirectMap: await map(files.redirectMap), hstsMap: await map(files.hstsMap) };
}

/**
 * Pure: the desired state HAProxy runs now — the loaded config's shape with the servers'
 * and maps' live values. Undefined when the two disagree (a backend missing, another slot
 * count): then nothing short of a reload is known to be right.
 */
export function runningDesired(loaded: LoadedStructure, runtime: Runtime): HaproxyDesired | undefined {
  const byBackend = new Map<string, RuntimeServer[]>();
  for (const server of runtime.servers) byBackend.set(server.backend, [...(byBackend.get(server.backend) ?? []), server]);
  const backends = [];
  for (const { size, ...backend } of loaded.backends) {
    const servers = byBackend.get(backend.name);
    if (!servers || servers.length !== size) return undefined;
    backends.push({ ...backend, servers: servers.map(runningSlot) });
  }
  const tls = loaded.tls ? runningTls(loaded.tls, runtime.tls) : undefined;
  if (loaded.tls && !tls) return undefined;
  return { backends, hostMap: runtime.hostMap, pathMap: runtime.pathMap, frontends: loaded.frontends, acmeMap: runtime.acmeMap, ...(tls ? { tls } : {}) };
}

/** An adopted slot holds "whatever serves at this address" until the model says which endpoint that is. */
function runningSlot(server: RuntimeServer): ServerSlot {
  const state = runtimeServingState(server);
  const empty = state === 'maint' && server.address === '127.0.0.1' && server.port === 1;
  return {
    name: server.name,
    endpoint: empty ? undefined : `running:${server.address}:${server.port}`,
    address: server.address,
    port: server.port,
    weight: server.weight,
    state,
  };
}

/**
 * Pure: what the first plan after adoption starts from. `fresh` is the model's desired state
 * planned with no slot history (it tells each backend's endpoint keys and addresses). Each
 * endpoint keeps the slot where HAProxy already serves it, and that slot is named by its key
 * in the returned `applied`, so the diff sees an unchanged endpoint as unchanged. Endpoints
 * with no running slot take free ones in the next plan, as new endpoints do.
 */
export function adoptSlots(running: HaproxyDesired, fresh: HaproxyDesired): { applied: HaproxyDesired; slots: SlotTable } {
  const slots: SlotTable = new Map();
  const freshByName = new Map(fresh.backends.map((b) => [b.name, b]));
  const backends = running.backends.map((backend) => {
    const table: BackendSlots = { size: backend.servers.length, byEndpoint: new Map() };
    slots.set(backend.name, table);
    const byAddress = new Map<string, number[]>();
    backend.servers.forEach((slot, index) => {
      if (!slot.endpoint) return;
      const at = `${slot.address}:${slot.port}`;
      byAddress.set(at, [...(byAddress.get(at) ?? []), index]);
    });
    const servers = [...backend.servers];
    for (const member of freshByName.get(backend.name)?.servers ?? []) {
      const index = member.endpoint === undefined ? undefined : byAddress.get(`${member.address}:${member.port}`)?.shift();
      if (index === undefined) continue;
      table.byEndpoint.set(member.endpoint!, index);
      servers[index] = { ...servers[index]!, endpoint: member.endpoint };
    }
    return { ...backend, servers };
  });
  return { applied: { ...running, backends }, slots };
}
