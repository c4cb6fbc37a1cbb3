import { FabricError } from '../../src/errors.js';
import type { TlsOp } from '../tls/haproxy-diff.js';
import { applyTlsOps } from '../tls/haproxy-runtime.js';
import type { MapName, RuntimeOp } from './diff.js';
import { haproxyCommand } from './socket.js';

type ServerOp = Exclude<RuntimeOp, { kind: 'map' } | { kind: 'tls' }>;
type MapOp = Extract<RuntimeOp, { kind: 'map' }>;

/** How many `add map` commands share one CLI line (`;`-separated; keys never hold `;`). */
const MAP_BATCH = 64;
/**
 * How many server commands share one CLI line: each line is one connection and one round trip,
 * where one connection per command cost most of a small change's apply (bench z).
 */
const SERVER_BATCH = 64;
/** The only text a successful server command answers: `set server … addr` says what changed. */
const SERVER_OK_LINE = /changed|no need to change/i;

/**
 * Applies Runtime API ops: servers in order per server and in parallel across
 * servers; new and renewed certificates; maps replaced atomically (prepare →
 * add → commit); then certificates removed (no map names their hosts any more).
 * Returns the number of commands sent.
 */
export async function applyRuntimeOps(socket: string, ops: RuntimeOp[], mapFiles: Partial<Record<MapName, string>>): Promise<number> {
  const byServer = new Map<string, ServerOp[]>();
  const maps: MapOp[] = [];
  const certs: TlsOp[] = [];
  for (const op of ops) {
    if (op.kind === 'map') {
      maps.push(op);
      continue;
    }
    if (op.kind === 'tls') {
      certs.push(op.op);
      continue;
    }
    const id = `${op.backend}/${op.server}`;
    byServer.set(id, [...(byServer.get(id) ?? []), op]);
  }
  let sent = await sendServerCommands(socket, [...byServer.values()].flat().map(serverCommand));
  sent += await applyTlsOps(
    socket,
    certs.filter((op) => op.kind !== 'cert-del'),
  );
  for (const op of maps) sent += await replaceMap(socket, mapFile(mapFiles, op.map), op.entries, op.map === 'acme');
  sent += await applyTlsOps(
    socket,
    certs.filter((op) => op.kind === 'cert-del'),
  );
  return sent;
}

function mapFile(files: Partial<Record<MapName, string>>, map: MapName): string {
  const file = files[map];
  if (!file) throw new FabricError('FABRIC_ERR_RUNTIME_API', `no file for map ${map}`);
  return file;
}

function serverCommand(op: ServerOp): string {
  const id = `${op.backend}/${op.server}`;
  switch (op.kind) {
    case 'addr':
      return `set server ${id} addr ${op.address} port ${op.port}`;
    case 'weight':
      return `set weight ${id} ${op.weight}`;
    case 'state':
      // Back in rotation: also past HAProxy's own passive check, which may hold the slot down from an earlier error;
      // unless HAProxy runs the service's check: its word stands (leaving maintenance restarts it at `rise`).
      return op.state === 'ready' && !op.haproxyChecks ? `set server ${id} state ready;set server ${id} health up` : `set server ${id} state ${op.state}`;
  }
}

/**
 * Server commands in order (a server's own stay in its order), `;`-joined into few lines. HAProxy
 * runs every command of a line even after one fails, and answers each failure with a line of
 * its own: any answer line that is no success fails the update (the caller reloads instead).
 */
async function sendServerCommands(socket: string, commands: string[]): Promise<number> {
  let sent = 0;
  for (let i = 0; i < commands.length; i += SERVER_BATCH) {
    const batch = commands.slice(i, i + SERVER_BATCH);
    const line = batch.join(';');
    const answer = await haproxyCommand(socket, line);
    const failures = answer.split('\n').filter((l) => l.trim() !== '' && !SERVER_OK_LINE.test(l));
    if (failures.length) throw new FabricError('FABRIC_ERR_RUNTIME_API', `"${line.slice(0, 120)}": ${failures.join(' | ').slice(0, 300)}`);
    sent += batch.length;
  }
  return sent;
}

/** `optional`: a custom template may not answer ACME challenges (no `maps.acme`): nothing to update then. */
async function replaceMap(socket: string, file: string, entries: Array<[string, string]>, optional = false): Promise<number> {
  const prepared = await haproxyCommand(socket, `prepare map ${file}`);
  if (optional && /unknown map identifier/i.test(prepared)) return 1;
  const version = /New version created:\s*(\d+)/.exec(prepared)?.[1];
  if (!version) throw new FabricError('FABRIC_ERR_RUNTIME_API', `prepare map ${file}: ${prepared.trim()}`);
  let sent = 1;
  for (let i = 0; i < entries.length; i += MAP_BATCH) {
    const line = entries
      .slice(i, i + MAP_BATCH)
      .map(([key, value]) => `add map @${version} ${file} ${key} ${value}`)
      .join(';');
    await expectAnswer(socket, line, /^\s*$/);
    sent += 1;
  }
  await expectAnswer(socket, `commit map @${version} ${file}`, /^\s*$/);
  return sent + 1;
}

async function expectAnswer(socket: string, command: string, ok: RegExp): Promise<void> {
  const answer = await haproxyCommand(socket, command);
  if (!ok.test(answer)) {
    throw new FabricError('FABRIC_ERR_RUNTIME_API', `"${command.slice(0, 120)}": ${answer.trim().slice(0, 300)}`);
  }
}
