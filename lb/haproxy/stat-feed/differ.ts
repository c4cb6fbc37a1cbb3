import { columnsAt, forEachStatRow, statHeader } from '../stat-csv.js';
import { packedAt, packedColumns, packRow, type StatDelta, slotName } from './delta.js';
import type { StatReadReply } from './protocol.js';

interface Seen {
  signature: string;
  read: number;
}

/**
 * Pure (state, no I/O): successive `show stat` answers as deltas. A row is sent when it is new,
 * when it came back after a read that did not list it, or when a compared column changed;
 * `volatile` columns (a clock like `lastchg`, a check's duration) are carried but never make a
 * row changed. At 100,000 servers an answer is ~26 MB and nearly all of it is the same as the last.
 */
export class StatDiffer {
  private seen = new Map<string, Seen>();
  private header: string | undefined;
  private reads = 0;
  private readonly columns: readonly string[];

  constructor(
    columns: readonly string[],
    private readonly volatile: readonly string[] = [],
  ) {
    this.columns = packedColumns(columns);
  }

  /** Undefined when the answer has no `show stat` table (an error, HAProxy going away): nothing is forgotten. */
  diff(text: string): StatDelta | undefined {
    const header = statHeader(text);
    if (!header) return undefined;
    const at = columnsAt(header.names, this.columns);
    const names = header.names.join(',');
    // Another HAProxy version's columns (a reload onto a new binary): everything is sent again.
    const full = this.header !== names;
    if (full) {
      this.seen = new Map();
      this.header = names;
    }
    const read = ++this.reads;
    const compared = this.columns.filter((c) => !this.volatile.includes(c) && (at[c] ?? -1) >= 0).map((c) => at[c]!);
    const [pxname, svname] = [at.pxname ?? -1, at.svname ?? -1];
    const changed: string[] = [];
    let rows = 0;
    forEachStatRow(text, header.body, Math.max(...Object.values(at)), (fields) => {
      rows += 1;
      const slot = slotName(fields[pxname] ?? '', fields[svname] ?? '');
      let signature = '';
      for (const i of compared) signature += `${settled(fields[i] ?? '')},`;
      const before = this.seen.get(slot);
      if (before && before.read === read - 1 && before.signature === signature) {
        before.read = read;
        return;
      }
      changed.push(packRow(fields, this.columns, at));
      if (before) {
        before.read = read;
        before.signature = signature;
      } else this.seen.set(slot, { signature, read });
    });
    const gone: string[] = [];
    // A slot's entry stays while it is away (maintenance): when it comes back it is sent again.
    for (const [slot, seen] of this.seen) if (seen.read === read - 1) gone.push(slot);
    return { preamble: text.slice(0, header.start), at: packedAt(this.columns, at), changed, gone, full, rows };
  }
}

/**
 * A field as it reads once a running check ends: HAProxy marks a check in progress with "* " before
 * its last status (`* L4OK`), so each check would change its line twice with nothing new. At
 * 100,000 servers that was 8,000–13,000 changed lines a second after a start. The line sent still
 * carries the mark (the check readers strip it).
 */
function settled(field: string): string {
  return field.startsWith('* ') ? field.slice(2) : field;
}

/** One answer as the reply a read gets: its delta, or what HAProxy said instead of a table. */
export function diffReply(differ: StatDiffer, id: number, text: string): StatReadReply {
  const delta = differ.diff(text);
  return delta ? { id, delta } : { id, none: text.trim().slice(0, 200) };
}
