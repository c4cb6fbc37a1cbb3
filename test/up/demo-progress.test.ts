// `fabric up --demo` waiting for its endpoints says why it waits: the reason the agent logged for
// each demo container is in the progress line, not only "0 of 3 endpoints ready". A Ctrl-C while it
// waits stops what was started.
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, testDocker } from '../harness/index.js';
import { childPids, launchUp, type UpProcess } from './support.js';

describe('fabric up --demo, waiting on endpoints', () => {
  let up: UpProcess | undefined;
  afterEach(async () => {
    await up?.release();
    up = undefined;
  });

  it('names the demo containers the agent rejects, with its reason, in the progress line; Ctrl-C meanwhile stops everything', async () => {
    // Container address mode on a network the demo containers are not on: the agent rejects all three.
    up = await launchUp(['--demo', '--address-mode', 'container', '--network', 'nowhere']);
    const line = await up.proc.waitForLine(/still waiting for web\.apps\.localhost served by 3 endpoints/, 30_000);
    expect(line).toContain('0 of 3 endpoints ready');
    expect(line).toContain('fabric-demo-web-1, fabric-demo-web-2, fabric-demo-web-3 rejected by the agent: the container has no address on network "nowhere"');

    const children = childPids(up.proc.pid);
    expect((await up.proc.stop('SIGINT', 20_000)).code).toBe(0);
    expect(up.proc.output()).toMatch(/stopping demo containers[\s\S]*stopping etcd[\s\S]*stopped\./);
    expect(children.filter(isAlive)).toEqual([]);
    expect(await testDocker().docker.listContainers({ all: true, filters: { label: ['fabric.demo=true'] } })).toEqual([]);
  });
});
