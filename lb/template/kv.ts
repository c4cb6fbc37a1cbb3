/**
 * The keys a confd-style template reads (`getv`, `ls`, …). Templates get it as
 * Handlebars data (`template(view, { kv })`), so helpers never reach for I/O.
 */
export interface KeyValues {
  /** The value at an absolute key, or undefined. */
  get(key: string): string | undefined;
  /** Every [key, value] whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Array<[string, string]>;
}

/** A sorted in-memory snapshot: what a watch hands a template, and what tests build. */
export class MemoryKeyValues implements KeyValues {
  private readonly map: Map<string, string>;
  private sorted: string[] | undefined;

  constructor(entries: Iterable<[string, string]> = []) {
    this.map = new Map(entries);
  }

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  list(prefix: string): Array<[string, string]> {
    this.sorted ??= [...this.map.keys()].sort();
    return this.sorted.filter((k) => k.startsWith(prefix)).map((k) => [k, this.map.get(k)!]);
  }
}
