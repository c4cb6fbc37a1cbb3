import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeJson } from '../model/codec.js';
import { encodeHost, hostIgnored, hostRecordSchema, hostRejections, MAX_REJECTIONS, type Rejection } from '../model/host.js';

const id = (n: number) => n.toString(16).padStart(12, '0').repeat(2);
const base = { name: 'node-1', address: '10.0.0.1', agentVersion: '0.1.0', started: '2026-01-01T00:00:00.000Z' };

describe('host record rejections', () => {
  it('are sorted (an unchanged set encodes to the same bytes) and absent when there are none', () => {
    const a: Rejection = { container: id(1), name: 'web-b', reason: 'label fabric.port is required' };
    const b: Rejection = { container: id(2), name: 'web-a', reason: 'bad weight' };
    expect(hostRejections([])).toEqual({});
    expect(hostRejections([a, b])).toEqual({ rejected: [b, a] });
    expect(encodeHost({ ...base, ...hostRejections([a, b]) })).toBe(encodeHost({ ...base, ...hostRejections([b, a]) }));
  });

  it('are capped: long reasons cut, at most MAX_REJECTIONS listed, the total kept', () => {
    const many = Array.from({ length: MAX_REJECTIONS + 5 }, (_, i) => ({
      container: id(i + 1),
      name: `c-${String(i).padStart(3, '0')}`,
      reason: 'x'.repeat(900),
    }));
    const record = hostRejections(many);
    expect(record.rejected).toHaveLength(MAX_REJECTIONS);
    expect(record.rejectedTotal).toBe(MAX_REJECTIONS + 5);
    expect(record.rejected![0]!.reason).toHaveLength(500);
    expect(() => encodeHost({ ...base, ...record })).not.toThrow();
  });

  it('carry only printable text: a label value quoted in a reason cannot bring control or invisible characters along', () => {
    const record = hostRejections([{ container: id(1), name: 'web', reason: 'label fabric.weight: "3\u202e00\n  server evil" is not a weight (0-256)' }]);
    expect(record.rejected![0]!.reason).toBe('label fabric.weight: "3?00?  server evil" is not a weight (0-256)');
  });

  it('keep old readers and old records working', () => {
    const withRejections = encodeHost({ ...base, rejected: [{ container: id(1), name: 'bad', reason: 'why' }] });
    // A reader of the record as it was before: the new field is skipped, not an error.
    const oldSchema = z.object({ name: z.string(), address: z.string(), agentVersion: z.string(), started: z.string() });
    expect(decodeJson(oldSchema, 'hosts/node-1', withRejections)).toEqual(base);
    // A record an older agent wrote decodes with no rejections.
    expect(decodeJson(hostRecordSchema, 'hosts/node-1', JSON.stringify(base))).toEqual(base);
  });
});

describe('host record: what --compat ignored', () => {
  it('is sorted, bounded per container and in count, and decodes', () => {
    expect(hostIgnored([])).toEqual({});
    const many = Array.from({ length: 30 }, (_, i) => `traefik: key ${i}\u0007 is not mapped`);
    const entries = Array.from({ length: MAX_REJECTIONS + 3 }, (_, i) => ({ container: id(i + 1), name: `c-${String(i).padStart(3, '0')}`, ignored: many }));
    const record = { ...base, ...hostIgnored([...entries].reverse()) };
    expect(record.ignored).toHaveLength(MAX_REJECTIONS);
    expect(record.ignoredTotal).toBe(MAX_REJECTIONS + 3);
    expect(record.ignored![0]!.name).toBe('c-000');
    expect(record.ignored![0]!.ignored).toHaveLength(20);
    expect(record.ignored![0]!.ignored[0]).toBe('traefik: key 0? is not mapped');
    expect(record.ignored![0]!.ignored[19]).toBe("and 11 more (see the agent's /v1/endpoints)");
    expect(hostRecordSchema.parse(JSON.parse(encodeHost(record)))).toEqual(record);
  });
});
