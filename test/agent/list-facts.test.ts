// The agent reads a full sync (and a burst of events) from one `docker ps` call instead of one
// inspect per container (agent/container.ts factsFromList). On the real engine, the listed facts
// must give the same endpoint or rejection as the inspected ones, for every shape of container.
import { afterEach, describe, expect, it } from 'vitest';
import { factsFromInspect, factsFromList, needsInspect } from '../../agent/container.js';
import { desiredOutcome, type HostContext } from '../../agent/desired.js';
import { Label } from '../../agent/labels.js';
import { removeAllContainers, runCustom, runWeb, testDocker, waitFor } from '../harness/index.js';

const { docker } = testDocker();
const context: HostContext = { host: 'h1', hostIp: '127.0.0.1', addressMode: 'published', network: undefined };

afterEach(async () => {
  await removeAllContainers(docker);
});

async function bothWays(id: string) {
  const [listed] = await docker.listContainers({ all: true, filters: { id: [id] } });
  const fromList = factsFromList(listed!);
  const fromInspect = factsFromInspect(await docker.getContainer(id).inspect());
  return { fromList, fromInspect };
}

async function expectSameOutcome(id: string, ctx: HostContext = context): Promise<void> {
  const { fromList, fromInspect } = await bothWays(id);
  expect(needsInspect(fromList, false, Label.port)).toBe(false);
  expect(desiredOutcome(fromList, ctx, false)).toEqual(desiredOutcome(fromInspect, ctx, false));
}

describe('listed facts give what inspected facts give', () => {
  it('a published web container, its port named or not', async () => {
    const named = await runWeb(docker, { labels: { [Label.service]: 'web', [Label.port]: '80', [Label.domains]: 'a.test,b.test', [Label.weight]: '7' } });
    const implicit = await runWeb(docker, { labels: { [Label.service]: 'web' } });
    await expectSameOutcome(named.id);
    await expectSameOutcome(implicit.id);
  });

  it('container address mode, and a rejection (a port that is not exposed)', async () => {
    const web = await runWeb(docker, { labels: { [Label.service]: 'web' }, publish: false });
    const wrong = await runWeb(docker, { labels: { [Label.service]: 'web', [Label.port]: '81' }, publish: false });
    const ctx = { ...context, addressMode: 'container' as const };
    await expectSameOutcome(web.id, ctx);
    await expectSameOutcome(wrong.id, ctx);
    expect(desiredOutcome((await bothWays(wrong.id)).fromList, ctx, false).kind).toBe('reject');
  });

  it('two exposed ports and no fabric.port: the same rejection', async () => {
    const two = await runCustom(docker, { labels: { [Label.service]: 'two' }, cmd: ['sleep', '600'], exposed: [80, 81], published: [80, 81] });
    await expectSameOutcome(two.id);
  });

  it('a host-network container with fabric.port; without it, the listed facts ask for an inspect', async () => {
    const labelled = await runWeb(docker, { labels: { [Label.service]: 'hostnet', [Label.port]: '18099' }, hostNetwork: { port: 18099 } });
    await expectSameOutcome(labelled.id);
    const unlabelled = await runWeb(docker, { labels: { [Label.service]: 'hostnet' }, hostNetwork: { port: 18098 } });
    expect(needsInspect((await bothWays(unlabelled.id)).fromList, false, Label.port)).toBe(true);
  });

  it('health from the status text: starting, then healthy; paused is not served either way', async () => {
    const web = await runWeb(docker, {
      labels: { [Label.service]: 'health' },
      healthcheck: { test: ['CMD', 'true'], intervalMs: 1_000 },
    });
    expect((await bothWays(web.id)).fromList.health).toMatch(/starting|healthy/);
    await waitFor(async () => (await bothWays(web.id)).fromInspect.health === 'healthy', { timeoutMs: 20_000, what: 'healthy' });
    await waitFor(async () => (await bothWays(web.id)).fromList.health === 'healthy', { timeoutMs: 5_000, what: 'listed healthy' });
    await expectSameOutcome(web.id);
    await web.container.pause();
    const paused = await bothWays(web.id);
    expect({ running: paused.fromList.running, paused: paused.fromList.paused }).toEqual({ running: true, paused: true });
    expect(desiredOutcome(paused.fromList, context, false)).toEqual(desiredOutcome(paused.fromInspect, context, false));
    await web.container.unpause();
  });

  it('a killed container always needs its StopSignal from an inspect', async () => {
    const web = await runWeb(docker, { labels: { [Label.service]: 'web' } });
    expect(needsInspect((await bothWays(web.id)).fromList, true, Label.port)).toBe(true);
  });
});
