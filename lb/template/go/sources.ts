import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { FabricError } from '../../../src/errors.js';
import { resolveWithGetent } from '../system.js';
import type { SRVRecord } from './confd.js';

/**
 * The world as confd's functions see it on this machine: DNS through the C
 * library (`getent`, the same answers any program on the host gets), SRV
 * records through Node's resolver in a child process (templates render
 * synchronously), and the file system for fileExists.
 */

const SRV_TIMEOUT_MS = 2_000;

/** net.LookupSRV: `_service._proto.name` (or `name` alone when both are empty); [] when there are none. */
export function lookupSRV(service: string, proto: string, name: string): SRVRecord[] {
  const query = service === '' && proto === '' ? name : `_${service}._${proto}.${name}`;
  const script =
    'require("dns").resolveSrv(process.argv[1],(e,r)=>{process.stdout.write(JSON.stringify(e?(e.code==="ENOTFOUND"||e.code==="ENODATA"?[]:{error:e.code}):r))})';
  const result = spawnSync(process.execPath, ['-e', script, query], { encoding: 'utf8', timeout: SRV_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error) throw new FabricError('FABRIC_ERR_COMMAND_TIMEOUT', `lookupSRV: resolving ${query} took longer than ${SRV_TIMEOUT_MS} ms`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.map((r: { name: string; port: number; priority: number; weight: number }) => ({
    // Go's resolver returns fully qualified names.
    target: r.name.endsWith('.') ? r.name : `${r.name}.`,
    port: r.port,
    priority: r.priority,
    weight: r.weight,
  }));
}

/** confd's util.IsFileExist: only "does not exist" is false. */
export function fileExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ENOTDIR';
  }
}

/** confd's lookupIP: sorted addresses, nothing when the name does not resolve. */
export function lookupIP(name: string): string[] {
  return resolveWithGetent(name);
}
