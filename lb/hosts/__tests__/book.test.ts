import { describe, expect, it } from 'vitest';
import type { HostRecord } from '../../../src/model/host.js';
import { HostBook } from '../book.js';

const record = (name: string, over: Partial<HostRecord> = {}): HostRecord => ({
  name,
  address: '10.0.0.1',
  agentVersion: '0.1.0',
  started: '2026-12-02T05:00:00.000Z',
  ...over,
});

describe('host book', () => {
  it('lists hosts by name, alive while their key is there, gone ones kept as not alive', () => {
    const book = new HostBook(1, () => Date.parse('2026-12-02T05:10:00.000Z'));
    book.put(record('b', { containers: { registered: 3, rejected: 1 } }));
    book.put(record('a'));
    book.gone('a');
    expect(book.list()).toEqual([
      {
        host: 'a',
        address: '10.0.0.1',
        alive: false,
        agentVersion: '0.1.0',
        started: '2026-12-02T05:00:00.000Z',
        containers: null,
        updatedAt: '2026-12-02T05:10:00.000Z',
      },
      expect.objectContaining({ host: 'b', alive: true, containers: { registered: 3, rejected: 1 } }),
    ]);
    book.put(record('c'));
    book.gone('c'); // only one gone host is kept: the longest gone (a) goes
    expect(book.list().map((h) => [h.host, h.alive])).toEqual([
      ['b', true],
      ['c', false],
    ]);
    book.put(record('c')); // back again
    expect(book.list().find((h) => h.host === 'c')?.alive).toBe(true);
  });
});
