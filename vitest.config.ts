import { defineConfig } from 'vitest/config';

// Tests drive real etcd, dockerd and load balancers: one file at a time keeps
// a 2-core machine from turning timing into flakiness.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', '{src,agent,lb,up}/**/*.test.ts'],
    globalSetup: ['test/harness/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
