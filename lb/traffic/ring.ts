/** 15 minutes at 5 s resolution. */
export const POINT_MS = 5_000;
export const POINTS = 180;
/** The shortest window a rate is taken over. */
const MIN_WINDOW_MS = 1_000;

/**
 * A fixed ring of closed 5-s points, `fields` numbers each, in one Float32Array (bounded memory:
 * 180 × fields × 4 bytes). Points are written in order; points skipped between two writes are zeros.
 * The array is allocated with the first point that is not all zeros: at 100,000 endpoints most are
 * idle, and their rings would hold ~200 MB of zeros (and take seconds to allocate at the first read).
 */
export class Ring {
  private data: Float32Array | undefined;
  /** The bucket index (time / POINT_MS) of the newest point written; -1 before the first. */
  head = -1;

  constructor(readonly fields: number) {}

  get bytes(): number {
    return this.data?.byteLength ?? 0;
  }

  push(index: number, values: ArrayLike<number>): void {
    if (this.head >= 0 && index <= this.head) {
      // The clock went back: fold it into the newest point rather than rewrite history.
      if (this.data || !allZero(values)) this.addAt(this.head, values);
      return;
    }
    if (!this.data && allZero(values)) {
      this.head = index;
      return;
    }
    if (this.data && this.head >= 0) for (let i = Math.max(this.head + 1, index - POINTS + 1); i < index; i++) this.slot(i).fill(0);
    this.slot(index).set(values);
    this.head = index;
  }

  /** A field of point `index`; 0 when that point is not kept (older than 15 min, or never written). */
  get(index: number, field: number): number {
    if (!this.data || this.head < 0 || index > this.head || index <= this.head - POINTS) return 0;
    return this.data[(index % POINTS) * this.fields + field]!;
  }

  private addAt(index: number, values: ArrayLike<number>): void {
    const slot = this.slot(index);
    for (let f = 0; f < this.fields; f++) slot[f] = slot[f]! + values[f]!;
  }

  private slot(index: number): Float32Array {
    // Allocated zeroed: every point before the first written one reads 0, as it would have.
    this.data ??= new Float32Array(POINTS * this.fields);
    const start = (index % POINTS) * this.fields;
    return this.data.subarray(start, start + this.fields);
  }
}

function allZero(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) return false;
  return true;
}

/**
 * One entity's series: the open point being filled by the 1–2 s samples, and the ring of closed
 * ones. The current window (rates "now") is the last closed point plus the open one: 5–10 s.
 */
export class PointSeries {
  readonly ring: Ring;
  private readonly open: Float64Array;
  openIndex = -1;
  lastAt: number;
  /** Where the deltas of the open point, and of the last closed one, start (a sample covers (from, at]). */
  private openFrom: number | undefined;
  private closedFrom: number | undefined;

  constructor(
    fields: number,
    readonly firstAt: number,
  ) {
    this.ring = new Ring(fields);
    this.open = new Float64Array(fields);
    this.lastAt = firstAt;
  }

  get bytes(): number {
    return this.ring.bytes + this.open.byteLength;
  }

  /** Adds a sample's values over (from, at] (sums; the caller adds gauges as sum and count). */
  add(at: number, values: ArrayLike<number>, from = at): void {
    const index = Math.floor(at / POINT_MS);
    if (this.openIndex < 0) this.openIndex = index;
    if (index > this.openIndex) {
      this.ring.push(this.openIndex, this.open);
      this.open.fill(0);
      this.closedFrom = index === this.openIndex + 1 ? this.openFrom : undefined;
      this.openFrom = undefined;
      this.openIndex = index;
    }
    this.openFrom ??= Math.max(this.firstAt, Math.min(from, at));
    for (let f = 0; f < values.length; f++) this.open[f] = this.open[f]! + values[f]!;
    if (at > this.lastAt) this.lastAt = at;
  }

  /** The current window's sum of a field; windowMs() is its length (at least a second). */
  window(field: number): number {
    if (this.openIndex < 0) return 0;
    return this.open[field]! + this.ring.get(this.openIndex - 1, field);
  }

  windowMs(): number {
    if (this.openIndex < 0) return 0;
    const from = this.closedFrom ?? this.openFrom ?? this.lastAt;
    // At least a second: a first read can carry counts from a moment before (HAProxy's uptime is in whole seconds).
    return Math.max(this.lastAt - from, MIN_WINDOW_MS);
  }

  /** The closed points, oldest first: at most `count`, none from before this series started. */
  points(count: number): Array<{ index: number; get: (field: number) => number }> {
    if (this.openIndex < 0) return [];
    const first = Math.max(this.openIndex - count, Math.floor(this.firstAt / POINT_MS));
    const out: Array<{ index: number; get: (field: number) => number }> = [];
    for (let index = first; index < this.openIndex; index++) out.push({ index, get: (field) => this.ring.get(index, field) });
    return out;
  }
}
