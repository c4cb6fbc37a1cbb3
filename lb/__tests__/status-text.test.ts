import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { documentText } from '../status-publisher.js';

describe('documentText (the status publisher compares documents by it)', () => {
  it('is JSON.stringify of the document', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.oneof(fc.jsonValue(), fc.constant(undefined))), (doc) => {
        expect(documentText(doc)).toBe(JSON.stringify(doc));
        expect(documentText(Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, typeof v === 'object' && v ? Object.freeze(v) : v])))).toBe(
          JSON.stringify(doc),
        );
      }),
    );
  });

  it('keeps the text of a frozen value it has seen, and stringifies any other value afresh', () => {
    const health = Object.freeze({ endpoints: 1 });
    expect(documentText({ health })).toBe('{"health":{"endpoints":1}}');
    const targets = [{ state: 'ok' }];
    expect(documentText({ health, targets })).toBe('{"health":{"endpoints":1},"targets":[{"state":"ok"}]}');
    targets[0]!.state = 'failed';
    expect(documentText({ health, targets })).toBe('{"health":{"endpoints":1},"targets":[{"state":"failed"}]}');
  });
});
