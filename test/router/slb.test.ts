// The `kind: slb` target against a real etcd and the real `fabric router`: the apply command is a
// script that records each call (its arguments, and a copy of the file it was given), and can be
// told to fail the next N calls for a load balancer.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  deleteEndpoint,
  type EndpointJson,
  endpoint,
  putEndpoint,
  putRaw,
  type RunningRouter,
  startRouterWithConfig,
  useRouterSuite,
  waitFor,
} from './support.js';

const suite = useRouterSuite({ router: false });
let router: RunningRouter;
let work: string;

interface Call {
  slb: string;
  src: string;
  /** The JSON the command was handed, parsed. */
  servers: Array<Record<string, string>>;
}

/** Appends "slb src" to calls.log and copies the file to copies/<n>.json; fails while fail-<slb> counts down. */
const APPLY_SCRIPT = `#!/bin/sh
set -e
cd "$(dirname "$0")"
echo "$1 $(date +%s%N)" >> attempts.log
if [ -s "fail-$1" ] && [ "$(cat "fail-$1")" -gt 0 ]; then
  echo $(( $(cat "fail-$1") - 1 )) > "fail-$1"
  echo "cloud API refused $1" >&2
  exit 1
fi
n=$(( $(wc -l < calls.log) + 1 ))
cp "$2" "copies/$n.json"
echo "$1 $2" >> calls.log
`;

beforeAll(async () => {
  work = suite.file.tempDir('fabric-slb-');
  fs.mkdirSync(path.join(work, 'copies'));
  fs.writeFileSync(path.join(work, 'calls.log'), '');
  fs.writeFileSync(path.join(work, 'apply.sh'), APPLY_SCRIPT, { mode: 0o755 });
  router = await startRouterWithConfig(suite.file, suite.etcd, {
    // The endpoints here are made up (nothing listens): no active checks, etcd's word decides.
    healthCheck: { unconfigured: 'none' },
    targets: [
      {
        kind: 'slb',
        name: 'cloud',
        dest: path.join(work, 'slb', 'lb-{{slb}}.json'),
        apply: `${path.join(work, 'apply.sh')} {{slb}} {{src}}`,
        commandTimeout: '5s',
      },
    ],
  });
});

function calls(): Call[] {
  const lines = fs.readFileSync(path.join(work, 'calls.log'), 'utf8').split('\n').filter(Boolean);
  return lines.map((line, i) => {
    const [slb, src] = line.split(' ') as [string, string];
    return { slb, src, servers: JSON.parse(fs.readFileSync(path.join(work, 'copies', `${i + 1}.json`), 'utf8')) };
  });
}

function callsFor(slb: string): Call[] {
  return calls().filter((c) => c.slb === slb);
}

function attempts(slb: string): number[] {
  return fs
    .readFileSync(path.join(work, 'attempts.log'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`${slb} `))
    .map((l) => Number(BigInt(l.split(' ')[1]!) / 1_000_000n));
}

async function putService(name: string, slb: string | undefined): Promise<number> {
  return putRaw(suite.client, `services/${name}`, JSON.stringify({ kind: 'Service', name, ...(slb ? { slb } : {}) }));
}

/** An endpoint on an ECS host, as the agent registers it with `--host-name <instance id>`. */
function ecs(service: string, host: string, port: number, extra: Partial<EndpointJson> = {}): EndpointJson {
  return { ...endpoint({ service, host, port, address: '127.0.0.1' }), ...extra };
}

function server(host: string, port: number, weight: number, service: string): Record<string, string> {
  return { ServerId: host, Port: String(port), Weight: String(weight), Type: 'ecs', Description: `fabric/${service}` };
}

const barrierEndpoint = ecs('barrier', 'i-barrier', 39999);

/**
 * Runs `step`, then changes a service no load balancer cares about and waits until the router
 * applied that: etcd's events arrive in order, so the step was seen (even one the router drops as
 * identical). Returns the apply calls in between.
 */
async function step(what: string, run: () => Promise<number>): Promise<Call[]> {
  const before = calls().length;
  await run();
  barrierEndpoint.weight = barrierEndpoint.weight === 100 ? 101 : 100;
  const revision = await putEndpoint(suite.client, barrierEndpoint);
  await router.waitApplied(revision, { what: `router applied "${what}" (revision ${revision})` });
  return calls().slice(before);
}

describe('slb target', () => {
  it('runs the apply command once per actual change of a load balancer, with the expected JSON', async () => {
    const a = ecs('web', 'i-host1', 30001);
    const b = ecs('web', 'i-host2', 30002, { state: 'draining' });

    // A load balancer a Service names gets its list even when it is empty.
    let made = await step('service web on lb a', () => putService('web', 'a'));
    expect(made.map((c) => [c.slb, c.servers])).toEqual([['a', []]]);
    expect(made[0]!.src).toBe(path.join(work, 'slb', 'lb-a.json'));

    made = await step('endpoint a', () => putEndpoint(suite.client, a));
    expect(made.map((c) => [c.slb, c.servers])).toEqual([['a', [server('i-host1', 30001, 39, 'web')]]]);

    // No run for changes that leave the list as it is.
    expect(await step('identical re-put', () => putEndpoint(suite.client, a))).toEqual([]);
    expect(await step('an unrelated service', () => putEndpoint(suite.client, ecs('other', 'i-host1', 30009)))).toEqual([]);
    expect(await step('a draining endpoint', () => putEndpoint(suite.client, b))).toEqual([]);
    expect(await step('the same spec again', () => putService('web', 'a'))).toEqual([]);

    made = await step('weight 256', () => putEndpoint(suite.client, { ...a, weight: 256 }));
    expect(made.map((c) => c.servers)).toEqual([[server('i-host1', 30001, 100, 'web')]]);

    made = await step('b up', () => putEndpoint(suite.client, { ...b, state: 'up' }));
    expect(made.map((c) => c.servers)).toEqual([[server('i-host1', 30001, 100, 'web'), server('i-host2', 30002, 39, 'web')]]);

    made = await step('a unhealthy', () => putEndpoint(suite.client, { ...a, weight: 256, health: 'unhealthy' }));
    expect(made.map((c) => c.servers)).toEqual([[server('i-host2', 30002, 39, 'web')]]);

    made = await step('a removed', () => deleteEndpoint(suite.client, a));
    expect(made).toEqual([]); // it was already out of the list

    const target = (await router.status()).targets.find((t: { name: string }) => t.name === 'cloud');
    expect(target).toMatchObject({ kind: 'slb', state: 'applied' });
    expect(target.lastError).toBeUndefined();
  });

  it('applies load balancers independently, and retires one no service names any more', async () => {
    const aBefore = callsFor('a').length;
    let made = await step('service api on lb b', () => putService('api', 'b'));
    expect(made.map((c) => [c.slb, c.servers])).toEqual([['b', []]]);

    made = await step('api endpoint', () => putEndpoint(suite.client, ecs('api', 'i-host3', 31000, { weight: 50 })));
    expect(made.map((c) => [c.slb, c.servers])).toEqual([['b', [server('i-host3', 31000, 20, 'api')]]]);

    made = await step('web endpoint', () => putEndpoint(suite.client, ecs('web', 'i-host4', 30004)));
    expect(made.map((c) => c.slb)).toEqual(['a']);
    expect(made[0]!.servers).toContainEqual(server('i-host4', 30004, 39, 'web'));

    // Two services on one load balancer: one list, the union.
    made = await step('admin joins lb b', async () => {
      await putEndpoint(suite.client, ecs('admin', 'i-host3', 31001));
      return putService('admin', 'b');
    });
    expect(made.map((c) => [c.slb, c.servers])).toEqual([['b', [server('i-host3', 31000, 20, 'api'), server('i-host3', 31001, 39, 'admin')]]]);

    // No service names lb b any more: it is sent an empty list once, and its file goes.
    // One transaction: two separate writes could be applied one at a time (the debounce's leading edge).
    made = await step('lb b dropped', async () => {
      const result = await suite.client
        .if('/fabric/services/api', 'Version', '>', 0)
        .then(
          suite.client.put('/fabric/services/admin').value(JSON.stringify({ kind: 'Service', name: 'admin' })),
          suite.client.delete().key('/fabric/services/api'),
        )
        .commit();
      return Number(result.header.revision);
    });
    expect(made.map((c) => [c.slb, c.servers])).toEqual([['b', []]]);
    expect(fs.existsSync(path.join(work, 'slb', 'lb-b.json'))).toBe(false);
    expect(await step('api endpoint changes', () => putEndpoint(suite.client, ecs('api', 'i-host3', 31002)))).toEqual([]);
    expect(callsFor('a').length).toBe(aBefore + 1);
  });

  it('retries a failed apply with backoff until it succeeds, re-running only that load balancer', async () => {
    const others = calls().filter((c) => c.slb !== 'c').length;
    fs.writeFileSync(path.join(work, 'fail-c'), '3');
    await putEndpoint(suite.client, ecs('pay', 'i-host5', 32000));
    const revision = await putService('pay', 'c');
    await router.waitApplied(revision, { what: 'lb c applied after three failures', timeoutMs: 20_000 });
    expect(callsFor('c').map((c) => c.servers)).toEqual([[server('i-host5', 32000, 39, 'pay')]]);
    const target = (await router.status()).targets.find((t: { name: string }) => t.name === 'cloud');
    expect(target.counters.failures).toBeGreaterThanOrEqual(3);
    expect(target.lastError).toBeUndefined();

    // Four runs in all, spaced by the router's backoff (200 ms doubling, full jitter: at least half of each step).
    const times = attempts('c');
    expect(times).toHaveLength(4);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    for (const [i, gap] of gaps.entries()) expect(gap, `gap ${i} of ${gaps.join(', ')} ms`).toBeGreaterThanOrEqual(100 * 2 ** i - 15);
    // The retries ran only the load balancer that failed.
    expect(calls().filter((c) => c.slb !== 'c').length).toBe(others);
  });

  it('shows a failure while it lasts, in /v1/status and /readyz', async () => {
    fs.writeFileSync(path.join(work, 'fail-d'), '1000');
    await putEndpoint(suite.client, ecs('shop', 'i-host6', 33000));
    await putService('shop', 'd');
    const target = await waitFor(
      async () => (await router.status()).targets.find((t: { name: string; lastError?: unknown }) => t.name === 'cloud' && t.lastError),
      { what: 'the failure in /v1/status', timeoutMs: 5_000 },
    );
    expect(target.state).toBe('failed');
    expect(target.lastError).toMatchObject({ code: 'FABRIC_ERR_COMMAND_FAILED' });
    expect(target.lastError.message).toContain('cloud API refused d');
    const ready = await router.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.text).toContain('FABRIC_ERR_COMMAND_FAILED');

    // The cloud comes back: the next retry succeeds, with no change in etcd needed.
    fs.writeFileSync(path.join(work, 'fail-d'), '0');
    await waitFor(() => callsFor('d').length === 1, { what: 'lb d applied once the command succeeds', timeoutMs: 15_000 });
    expect(callsFor('d')[0]!.servers).toEqual([server('i-host6', 33000, 39, 'shop')]);
    await waitFor(async () => (await router.get('/readyz')).status === 200, { what: '/readyz 200 again' });
  });
});
