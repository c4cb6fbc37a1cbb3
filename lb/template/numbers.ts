import { type HelperDef, helper, int, renderError } from './define.js';

/** The longest list `seq` builds: a typo like `seq 1 1e9` must not take the router down. */
const MAX_SEQ = 100_000;

/** confd's integer arithmetic (Go ints: division truncates, `mod` takes the dividend's sign). */
export const numberHelpers: HelperDef[] = [
  helper('add', 2, 2, ([a, b]) => int('add', a) + int('add', b)),
  helper('sub', 2, 2, ([a, b]) => int('sub', a) - int('sub', b)),
  helper('mul', 2, 2, ([a, b]) => int('mul', a) * int('mul', b)),
  helper('div', 2, 2, ([a, b]) => Math.trunc(int('div', a) / divisor('div', b))),
  helper('mod', 2, 2, ([a, b]) => int('mod', a) % divisor('mod', b)),
  helper('seq', 2, 2, ([first, last]) => seq(int('seq', first), int('seq', last))),
];

function divisor(helperName: string, value: unknown): number {
  const n = int(helperName, value);
  if (n === 0) throw renderError(helperName, 'integer divide by zero');
  return n;
}

/** GNU seq (and confd's): first..last inclusive, empty when first > last. */
function seq(first: number, last: number): number[] {
  if (last - first + 1 > MAX_SEQ) throw renderError('seq', `${first}..${last} is longer than ${MAX_SEQ}`);
  const out: number[] = [];
  for (let i = first; i <= last; i++) out.push(i);
  return out;
}
