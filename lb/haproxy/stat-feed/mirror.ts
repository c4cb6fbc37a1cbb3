import { type PackedTable, type StatDelta, slotName, slotOfRow } from './delta.js';

/** What one delta did to the mirror: the rows to act on, and the slots that left. */
export interface StatChanges {
  preamble: string;
  /** The changed rows, packed (lb/haproxy/stat-feed/delta.ts `unpack` gives the table the `show stat` parsers read). */
  table: PackedTable;
  /** `backend/server` of rows no longer listed. */
  gone: string[];
  full: boolean;
}

/**
 * Pure: the router's copy of HAProxy's whole `show stat` table, kept from deltas (lb/haproxy/stat-feed/differ.ts).
 * Readers act on each delta's rows, and take the rows of a backend from here when its servers got
 * new owners without their lines changing.
 */
export class StatMirror {
  private readonly backends = new Map<string, Map<string, string>>();
  at: Record<string, number> = {};

  apply(delta: StatDelta): StatChanges {
    let gone = delta.gone;
    if (delta.full && this.backends.size > 0) {
      // A whole table: whatever it does not list left.
      const listed = new Set(
        delta.changed.map((line) => {
          const { backend, server } = slotOfRow(line);
          return slotName(backend, server);
        }),
      );
      gone = [];
      for (const [backend, servers] of this.backends)
        for (const server of servers.keys()) if (!listed.has(slotName(backend, server))) gone.push(slotName(backend, server));
      this.backends.clear();
    }
    this.at = delta.at;
    for (const slot of delta.gone) {
      const slash = slot.lastIndexOf('/');
      const backend = slot.slice(0, slash);
      const servers = this.backends.get(backend);
      servers?.delete(slot.slice(slash + 1));
      if (servers?.size === 0) this.backends.delete(backend);
    }
    for (const line of delta.changed) {
      const { backend, server } = slotOfRow(line);
      let servers = this.backends.get(backend);
      if (!servers) this.backends.set(backend, (servers = new Map()));
      servers.set(server, line);
    }
    return { preamble: delta.preamble, table: { at: delta.at, lines: delta.changed }, gone, full: delta.full };
  }

  /**
   * The table to act on: the changed rows, and the rows now of `backends` (whose slots may have
   * changed hands) that are not among them. After a full delta that is every row already.
   */
  tableWith(changes: StatChanges, backends: readonly string[]): PackedTable {
    if (changes.full || backends.length === 0) return changes.table;
    const changed = new Set(changes.table.lines);
    const lines = [...changes.table.lines];
    for (const backend of backends) for (const line of this.backends.get(backend)?.values() ?? []) if (!changed.has(line)) lines.push(line);
    return { at: changes.table.at, lines };
  }

  /** Every row now. */
  table(): PackedTable {
    const lines: string[] = [];
    for (const servers of this.backends.values()) for (const line of servers.values()) lines.push(line);
    return { at: this.at, lines };
  }

  get size(): number {
    let n = 0;
    for (const servers of this.backends.values()) n += servers.size;
    return n;
  }
}
