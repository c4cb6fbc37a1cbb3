import type { ServingState } from '../model.js';

/** One server as `show servers state` reports it. */
export interface RuntimeServer {
  backend: string;
  name: string;
  address: string;
  port: number;
  /** 0 stopped, 1 starting, 2 running, 3 stopping. */
  opState: number;
  /** Bit field: 0x01 forced maint, 0x08 forced drain, … */
  adminState: number;
  /** The user weight (`set weight`). */
  weight: number;
}

// HAProxy 2.6 SRV_ADMF_*: maintenance forced (0x01), inherited (0x02) or from resolution (0x20);
// 0x04 (CMAINT) only records that the config said "disabled" and stays set after `state ready`.
const ADMIN_MAINT = 0x01 | 0x02 | 0x20;
const ADMIN_DRAIN = 0x08 | 0x10;

/** Pure: parses `show servers state [backend]` (format 1: a header line of column names). */
export function parseServersState(text: string): RuntimeServer[] | undefined {
  const lines = text.split('\n');
  const header = lines.find((l) => l.startsWith('# be_id'));
  if (!header) return undefined;
  const names = header.slice(2).trim().split(/\s+/);
  const column = (fields: string[], name: string) => fields[names.indexOf(name)] ?? '';
  return lines
    .filter((l) => /^\d+\s/.test(l))
    .map((l) => {
      const f = l.trim().split(/\s+/);
      return {
        backend: column(f, 'be_name'),
        name: column(f, 'srv_name'),
        address: column(f, 'srv_addr'),
        port: Number(column(f, 'srv_port')),
        opState: Number(column(f, 'srv_op_state')),
        adminState: Number(column(f, 'srv_admin_state')),
        weight: Number(column(f, 'srv_uweight')),
      };
    });
}

/** What the router's Runtime API ops set, read back: maintenance wins over drain. */
export function runtimeServingState(server: Pick<RuntimeServer, 'adminState'>): ServingState {
  if ((server.adminState & ADMIN_MAINT) !== 0) return 'maint';
  if ((server.adminState & ADMIN_DRAIN) !== 0) return 'drain';
  return 'ready';
}

/** Pure: parses `show map <file>`: `<id> <key> <value>` per entry, in the map's order. */
export function parseShowMap(text: string): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  for (const line of text.split('\n')) {
    const [id, key, value] = line.trim().split(/\s+/);
    if (id?.startsWith('0x') && key !== undefined && value !== undefined) entries.push([key, value]);
  }
  return entries;
}
