import { describe, expect, it } from 'vitest';
import { MAX_READ_SHARE, nextReadDelay } from '../haproxy/read-pace.js';

describe('nextReadDelay', () => {
  it('keeps the cadence while reads are short', () => {
    expect(nextReadDelay(1_000, undefined)).toBe(1_000);
    expect(nextReadDelay(1_000, 0)).toBe(1_000);
    expect(nextReadDelay(1_000, 40)).toBe(1_000);
  });

  it('stretches it so a long read stays within its share of the time', () => {
    const read = 900; // a show stat of ~100,000 servers
    const delay = nextReadDelay(1_000, read);
    expect(delay).toBe(8_100);
    expect(read / (read + delay)).toBeLessThanOrEqual(MAX_READ_SHARE);
  });
});
