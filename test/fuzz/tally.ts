// Per-surface counts of a fuzz run, printed at the end so the long run (FABRIC_FUZZ_RUNS) can be
// recorded in docs/benchmarks.md. A crash or an injected line fails the property at once, with the
// seed and path fast-check prints to replay it (fc.assert(…, { seed, path })).
import fc from 'fast-check';

export interface Tally {
  surface: string;
  cases: number;
  accepted: number;
  rejected: number;
  crashes: number;
  injected: number;
  /** Rendered configs also checked by `haproxy -c` / `nginx -t`. */
  haproxyChecked: number;
  nginxChecked: number;
  ms: number;
}

const tallies: Tally[] = [];

export function tally(surface: string): Tally {
  const t: Tally = { surface, cases: 0, accepted: 0, rejected: 0, crashes: 0, injected: 0, haproxyChecked: 0, nginxChecked: 0, ms: 0 };
  tallies.push(t);
  return t;
}

/** fc.assert with the run count and a seed that is printed first, so even a hang can be replayed. */
export function assertFuzz<T>(t: Tally, arb: fc.Arbitrary<T>, check: (value: T) => void, numRuns: number): void {
  const seed = Number(process.env.FABRIC_FUZZ_SEED) || Date.now() ^ (Math.random() * 0x7fffffff);
  const started = performance.now();
  try {
    fc.assert(
      fc.property(arb, (value) => {
        t.cases++;
        check(value);
      }),
      { numRuns, seed, endOnFailure: process.env.FABRIC_FUZZ_SHRINK === '0' },
    );
  } catch (err) {
    t.crashes++;
    throw new Error(`${t.surface}: replay with FABRIC_FUZZ_SEED=${seed}\n${err instanceof Error ? err.message : String(err)}`, { cause: err });
  } finally {
    t.ms += performance.now() - started;
  }
}

/** One line per surface (stdout), for the long run's figures. */
export function printTallies(): void {
  for (const t of tallies.splice(0)) {
    console.log(
      `fuzz ${t.surface}: cases ${t.cases}, accepted ${t.accepted}, rejected ${t.rejected}, crashes ${t.crashes}, injected lines ${t.injected}, ` +
        `haproxy -c ${t.haproxyChecked}, nginx -t ${t.nginxChecked}, ${(t.ms / 1000).toFixed(1)} s`,
    );
  }
}
