// The `fabric get` table formatter: pure, no processes.
import { describe, expect, it } from 'vitest';
import { type Column, formatTable, wantsColor } from '../../src/ctl/table.js';

interface Row {
  name: string;
  note: string;
}

const columns: Column<Row>[] = [
  { header: 'name', value: (r) => r.name },
  { header: 'note', value: (r) => r.note },
  { header: 'len', value: (r) => String(r.name.length) },
];

describe('formatTable', () => {
  const cases: Array<{ what: string; rows: Row[]; expected: string }> = [
    { what: 'header only', rows: [], expected: 'NAME   NOTE   LEN\n' },
    {
      what: 'columns as wide as their widest cell, no trailing blanks',
      rows: [
        { name: 'a', note: 'short' },
        { name: 'a-much-longer-name', note: '' },
      ],
      expected: ['NAME                 NOTE    LEN', 'a                    short   1', 'a-much-longer-name   -       18', ''].join('\n'),
    },
    {
      what: 'cells are made one line',
      rows: [{ name: 'x', note: 'two\nlines  here' }],
      expected: ['NAME   NOTE             LEN', 'x      two lines here   1', ''].join('\n'),
    },
  ];
  for (const { what, rows, expected } of cases) {
    it(what, () => expect(formatTable(columns, rows)).toBe(expected));
  }

  it('bolds the header only with colour, without moving any column', () => {
    const rows = [{ name: 'web', note: 'n' }];
    const plain = formatTable(columns, rows);
    const colored = formatTable(columns, rows, { color: true });
    expect(colored).toContain('\u001b[1m');
    expect(colored.replace(new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, 'g'), '')).toBe(plain);
  });

  it('wants colour only on a TTY without NO_COLOR', () => {
    expect(wantsColor({ isTTY: true }, {})).toBe(true);
    expect(wantsColor({ isTTY: false }, {})).toBe(false);
    expect(wantsColor({}, {})).toBe(false);
    expect(wantsColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
  });
});
