// The golden corpus (test/fixtures/go-templates/<case>/): each template rendered by fabric's Go
// engine over its keys must come out byte for byte as Go's text/template with confd's functions
// rendered it (the fixtures' README says how expected.out / expected.err were made).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FabricError } from '../../../../src/errors.js';
import { ROOT, read, renderCase } from './golden-support.js';

const cases = fs.readdirSync(ROOT).filter((name) => fs.statSync(path.join(ROOT, name)).isDirectory());

describe('Go templates: the golden corpus', () => {
  it('has cases', () => {
    expect(cases.length).toBeGreaterThan(50);
  });

  for (const name of cases) {
    const dir = path.join(ROOT, name);
    const expectedOut = read(dir, 'expected.out');
    const expectedErr = read(dir, 'expected.err');
    it(name, () => {
      if (expectedOut !== undefined) {
        expect(renderCase(dir)).toBe(expectedOut);
        return;
      }
      // Go's error: fabric fails too, with the same place (file:line, and :column when Go has one).
      expect(expectedErr).toBeDefined();
      let error: unknown;
      try {
        renderCase(dir);
      } catch (err) {
        error = err;
      }
      expect(error, 'renders without an error where Go fails').toBeInstanceOf(FabricError);
      const message = (error as FabricError).message;
      const where = /^template: (template\.tmpl:\d+(?::\d+)?):/.exec(expectedErr!)?.[1];
      expect(where, expectedErr).toBeDefined();
      expect(message).toContain(`template ${where}`);
      expect((error as FabricError).details?.line).toBe(Number(where!.split(':')[1]));
    });
  }
});
