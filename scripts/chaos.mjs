#!/usr/bin/env node
// `npm run chaos -- --seed N --minutes M`: the seeded chaos run (test/chaos/chaos.test.ts) on its
// own, against real etcd members, Docker engines, agents, routers and HAProxy. Run as root, after
// scripts/install-deps.sh. The seed and the timeline of faults are printed on failure.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { seed: { type: 'string' }, minutes: { type: 'string' } } });
const env = { ...process.env };
if (values.seed !== undefined) env.FABRIC_CHAOS_SEED = values.seed;
if (values.minutes !== undefined) env.FABRIC_CHAOS_MINUTES = values.minutes;
for (const [name, value] of [['--seed', env.FABRIC_CHAOS_SEED], ['--minutes', env.FABRIC_CHAOS_MINUTES]]) {
  if (value !== undefined && !/^\d+(\.\d+)?$/.test(value)) {
    console.error(`chaos: ${name} must be a number, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
}
const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', env }).status ?? 1;
const built = run('npm', ['run', '--silent', 'build']);
if (built !== 0) process.exit(built);
process.exit(run('npx', ['vitest', 'run', 'test/chaos/chaos.test.ts']));
