// The fuzz surfaces alone, without the suite's global setup (a private dockerd they do not use):
//   FABRIC_FUZZ_RUNS=100000 npx vitest run --config test/fuzz/long-run.config.ts
// prints each surface's cases, accepted, rejected, crashes, injected lines, configs checked, time.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/fuzz/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    reporters: ['default'],
  },
});
