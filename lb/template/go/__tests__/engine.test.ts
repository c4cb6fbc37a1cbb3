// The Go engine's invariants (property tests) and its contract with fabric: errors as FabricErrors
// with file, line and column, a missing key's own code, templates parsed once per text.
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { FabricError } from '../../../../src/errors.js';
import { MemoryKeyValues } from '../../kv.js';
import { compileGoTemplate } from '../engine.js';
import { GoTemplate } from '../template.js';
import { GOLDEN_SOURCES } from './golden-support.js';

const render = (text: string, data?: unknown, keys: Record<string, string> = {}) =>
  compileGoTemplate(text, '/etc/confd/templates/t.tmpl', GOLDEN_SOURCES)(data, { kv: new MemoryKeyValues(Object.entries(keys)) });

/** Text a template may hold literally: anything without an action delimiter. */
const plain = fc
  .string({ unit: fc.constantFrom('a', 'b', ' ', '\t', '\n', '\r', '}', '{', '-', 'é', '*', '/') })
  .filter((s) => !s.includes('{{') && !s.endsWith('{'));
const spaces = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r'), minLength: 1 });
const trimRight = (s: string) => s.replace(/[ \t\r\n]+$/, '');
const trimLeft = (s: string) => s.replace(/^[ \t\r\n]+/, '');

describe('Go engine invariants', () => {
  it('prints text without actions as it is', () => {
    fc.assert(fc.property(plain, (text) => render(text) === text));
  });

  it('{{- trims every space before the action, -}} every space after it, and nothing else', () => {
    fc.assert(
      fc.property(plain, spaces, spaces, plain, fc.boolean(), fc.boolean(), (before, s1, s2, after, left, right) => {
        const action = `{{${left ? '- ' : ''}"x"${right ? ' -' : ''}}}`;
        const out = render(`${before}${s1}${action}${s2}${after}`);
        const head = left ? trimRight(before + s1) : before + s1;
        const tail = right ? trimLeft(s2 + after) : s2 + after;
        return out === `${head}x${tail}`;
      }),
    );
  });

  it('drops comments, trimmed or not', () => {
    const comment = fc.string({ unit: fc.constantFrom('a', ' ', '\n', '*', '/', '{', '}') }).filter((c) => !c.includes('*/'));
    fc.assert(fc.property(plain, comment, plain, (a, c, b) => render(`${a}{{/*${c}*/}}${b}`) === a + b));
  });

  it('prints a string the same through {{.}}, print and printf "%s", and len counts its UTF-8 bytes', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const out = render('{{.}}|{{print .}}|{{printf "%s" .}}|{{len .}}', s);
        return out === `${s}|${s}|${s}|${Buffer.byteLength(s)}`;
      }),
    );
  });

  it('ranges over a map in sorted key order, over a list in order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: fc.constantFrom('a', 'b', 'Z', '1', '_') }), fc.string()), fc.array(fc.string()), (map, list) => {
        const keys = Object.keys(map).sort();
        return (
          render('{{range $k, $v := .m}}{{$k}}={{$v}};{{end}}', { m: map }) === keys.map((k) => `${k}=${map[k]};`).join('') &&
          render('{{range .l}}[{{.}}]{{end}}', { l: list }) === list.map((x) => `[${x}]`).join('')
        );
      }),
    );
  });

  it('formats integers as Go does for %d, %5d, %-5d, %05d, %x, %o, %b', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), (n) => {
        const abs = Math.abs(n);
        const sign = n < 0 ? '-' : '';
        const zero5 = sign + String(abs).padStart(5 - sign.length, '0');
        const out = render('{{printf "%d|%5d|%-5d|%05d|%x|%o|%b" . . . . . . .}}', n);
        return (
          out === [n, String(n).padStart(5), String(n).padEnd(5), zero5, sign + abs.toString(16), sign + abs.toString(8), sign + abs.toString(2)].join('|')
        );
      }),
    );
  });
});

describe('Go engine errors', () => {
  it('a parse error is FABRIC_ERR_RENDER with the file, line and column', () => {
    const err = catchError(() => render('ok\n  {{nosuch 1}}\n'));
    expect(err).toBeInstanceOf(FabricError);
    expect(err.code).toBe('FABRIC_ERR_RENDER');
    expect(err.message).toBe('template /etc/confd/templates/t.tmpl:2:4: function "nosuch" not defined');
    expect(err.details).toEqual({ file: '/etc/confd/templates/t.tmpl', line: 2, column: 4 });
  });

  it('an execution error names the template, the place and the failing call', () => {
    const err = catchError(() => render('{{range $i := seq 1 2}}\n{{add $i "x"}}{{end}}'));
    expect(err.code).toBe('FABRIC_ERR_RENDER');
    expect(err.message).toBe('template /etc/confd/templates/t.tmpl:2:9: executing "t.tmpl" at <"x">: expected integer; found "x"');
  });

  it('a missing key keeps its code and names the key', () => {
    const err = catchError(() => render('{{getv "/db/port"}}', undefined, { '/db/host': 'h' }));
    expect(err.code).toBe('FABRIC_ERR_MISSING_KEY');
    expect(err.message).toContain('error calling getv: key does not exist: /db/port');
    expect(err.details).toMatchObject({ key: '/db/port', line: 1, column: 2 });
  });

  it('a {{template}} that calls itself forever stops at a depth limit instead of the stack', () => {
    const err = catchError(() => render('{{define "loop"}}{{template "loop" .}}{{end}}{{template "loop"}}'));
    expect(err.message).toMatch(/exceeded maximum template depth \(1000\)/);
  });
});

describe('parsing', () => {
  it('parses a template text once, however often it is compiled', () => {
    const parse = vi.spyOn(GoTemplate, 'parse');
    const n = Math.random();
    for (let i = 0; i < 5; i++) expect(render(`{{getv "/a"}} ${n}`, undefined, { '/a': 'x' })).toBe(`x ${n}`);
    expect(parse).toHaveBeenCalledTimes(1);
    parse.mockRestore();
  });

  it('gives the view as dot: the fabric model sits next to the keys', () => {
    expect(
      render('{{range .services}}{{.name}}:{{len .endpoints}} {{end}}{{getv "/k"}}', { services: [{ name: 'web', endpoints: [1, 2] }] }, { '/k': 'v' }),
    ).toBe('web:2 v');
  });
});

function catchError(fn: () => unknown): FabricError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FabricError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('runaway templates', () => {
  it('a structure too deep for the stack is a FABRIC_ERR_RENDER, not a crash', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const err = catchError(() => render('{{printf "%v" .}}', deep));
    expect(err.code).toBe('FABRIC_ERR_RENDER');
    expect(err.message).toContain('/etc/confd/templates/t.tmpl');
  });
});
