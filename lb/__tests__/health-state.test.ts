// The rise/fall state machine, table-driven: a sequence of probe results in, the states out.
import { describe, expect, it } from 'vitest';
import { type CheckState, type CheckStatus, checkAllowsServing, INITIAL_STATUS, observe } from '../health/state.js';

/** Runs `results` ('+' success, '-' failure) from `start`; returns the state after each. */
function run(results: string, thresholds = { rise: 2, fall: 3 }, start: CheckStatus = INITIAL_STATUS): { states: CheckState[]; last: CheckStatus } {
  let status = start;
  const states: CheckState[] = [];
  [...results].forEach((r, i) => {
    status = observe(status, { ok: r === '+', error: r === '+' ? undefined : `fail ${i}`, at: 1_000 + i, durationMs: 1 }, thresholds);
    states.push(status.state);
  });
  return { states, last: status };
}

const U = 'unknown';
const H = 'healthy';
const D = 'unhealthy';

describe('health check state machine (rise 2, fall 3)', () => {
  const table: Array<[string, string, CheckState[]]> = [
    ['unknown: the first success makes it healthy', '+', [H]],
    ['unknown: the first failure takes it out at once (HAProxy init-state up)', '-', [D]],
    ['healthy: fall-1 failures keep it in', '+--', [H, H, H]],
    ['healthy: fall failures take it out', '+---', [H, H, H, D]],
    ['healthy: a success in between resets the failure count', '+--+--', [H, H, H, H, H, H]],
    ['unhealthy: rise-1 successes keep it out', '-+', [D, D]],
    ['unhealthy: rise successes bring it back', '-++', [D, D, H]],
    ['unhealthy: a failure in between resets the success count', '-+-++', [D, D, D, D, H]],
    ['a full cycle: in, out after fall, back after rise', '++---++', [H, H, H, H, D, D, H]],
  ];
  it.each(table)('%s', (_name, results, expected) => {
    expect(run(results).states).toEqual(expected);
  });
});

describe('thresholds', () => {
  it.each([
    [{ rise: 1, fall: 1 }, '+-+-', [H, D, H, D]],
    [{ rise: 3, fall: 2 }, '+--+++', [H, H, D, D, D, H]],
    [{ rise: 1, fall: 5 }, '+----', [H, H, H, H, H]],
  ])('rise %o', (thresholds, results, expected) => {
    expect(run(results, thresholds).states).toEqual(expected);
  });
});

describe('status bookkeeping', () => {
  it('counts consecutive results and keeps the time of the last change', () => {
    const { last } = run('+--');
    expect(last).toMatchObject({ state: H, successes: 0, failures: 2, since: 1_000, lastCheck: 1_002, lastError: 'fail 2' });
    const down = run('+---').last;
    expect(down).toMatchObject({ state: D, failures: 3, since: 1_003, lastError: 'fail 3' });
  });

  it('keeps the last error while still unhealthy and clears it once healthy again', () => {
    const rising = run('-+').last;
    expect(rising).toMatchObject({ state: D, successes: 1, failures: 0, lastError: 'fail 0' });
    expect(run('++', undefined, rising).last).toMatchObject({ state: H, lastError: undefined });
  });

  it('never mutates its input', () => {
    const before = { ...INITIAL_STATUS };
    observe(INITIAL_STATUS, { ok: false, at: 1, durationMs: 1 }, { rise: 1, fall: 1 });
    expect(INITIAL_STATUS).toEqual(before);
  });

  it('unknown and healthy serve; unhealthy does not', () => {
    expect([U, H, D].map((s) => checkAllowsServing(s as CheckState))).toEqual([true, true, false]);
  });
});
