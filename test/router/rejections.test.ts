// Containers an agent rejects, seen from a standalone router: the agent publishes its rejections
// in its host record (hosts/<host>, on its lease), and every router names them in /v1/status
// issues and its dashboard's event stream, until the container is fixed or the agent is gone.
import { describe, expect, it } from 'vitest';
import { runWeb } from '../harness/index.js';
import { startAgent, testDocker, useRouterSuite, waitFor } from './support.js';

const suite = useRouterSuite();

interface Issue {
  code: string;
  subject: string;
  message: string;
  container?: { host: string; id: string; name: string; reason: string };
}

async function rejectedIssues(): Promise<Issue[]> {
  return ((await suite.router.status()).issues as Issue[]).filter((i) => i.container);
}

/** The first snapshot of the dashboard's event stream (GET /v1/events). */
async function firstSnapshot(): Promise<any> {
  const response = await fetch(`${suite.router.url}/v1/events`, { signal: AbortSignal.timeout(10_000) });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`event stream ended before a snapshot: ${text}`);
      text += decoder.decode(value, { stream: true });
      const data = /event: snapshot\ndata: (.*)\n\n/.exec(text)?.[1];
      if (data) return JSON.parse(data);
    }
  } finally {
    await reader.cancel();
  }
}

describe('containers an agent rejects, on every router', () => {
  it('a standalone router names the container and the reason in /v1/status and its event stream; fixed, it is gone', async () => {
    const agent = await startAgent(suite.perTest, suite.etcd);
    const docker = testDocker().docker;
    const bad = await runWeb(docker, { labels: { 'fabric.service': 'rejected', 'fabric.weight': '9000' } });
    suite.perTest.defer(() => bad.remove());
    const started = Date.now();

    const issue = await waitFor(async () => (await rejectedIssues()).find((i) => i.container?.id === bad.id), {
      timeoutMs: 15_000,
      what: `the router reports ${bad.name} as rejected`,
    });
    console.log(`the router reported the rejected container ${Date.now() - started} ms after it started`);
    expect(issue).toMatchObject({ code: 'FABRIC_ERR_LABEL', subject: `hosts/${agent.hostName}`, container: { host: agent.hostName, name: bad.name } });
    expect(issue.message).toContain(bad.name);
    expect(issue.message).toMatch(/fabric\.weight.*9000/);
    // The agent says the same thing itself.
    const own = (await agent.endpoints()).rejected.find((r: any) => r.container === bad.id);
    expect(issue.container!.reason).toBe(own.reason);
    // What the dashboard renders: the event stream's snapshot carries the router's status.
    expect((await firstSnapshot()).status.issues).toContainEqual(issue);

    // Fixed (labels are set at create: a new container with a valid label, under the same name).
    await bad.remove();
    const fixed = await runWeb(docker, { name: bad.name, labels: { 'fabric.service': 'rejected', 'fabric.weight': '90' } });
    suite.perTest.defer(() => fixed.remove());
    await waitFor(
      async () => {
        const served = (await suite.router.get('/v1/services/rejected')).json?.endpoints ?? [];
        return (await rejectedIssues()).length === 0 && served.some((e: any) => e.container === fixed.id && e.weight === 90);
      },
      { timeoutMs: 15_000, what: 'no rejection left, the fixed container served' },
    );
  });

  it('rejections go with their agent: stopped, its host record (and what it rejected) leaves the router', async () => {
    const agent = await startAgent(suite.perTest, suite.etcd);
    const bad = await runWeb(testDocker().docker, { labels: { 'fabric.service': 'Not_A_Name' } });
    suite.perTest.defer(() => bad.remove());
    await waitFor(async () => (await rejectedIssues()).some((i) => i.container?.id === bad.id && i.container.host === agent.hostName), {
      timeoutMs: 15_000,
      what: `${bad.name} reported`,
    });
    await agent.stop(); // SIGTERM: the lease is revoked with every key on it
    await waitFor(async () => (await rejectedIssues()).length === 0, { timeoutMs: 10_000, what: 'the rejection gone with the agent' });
  });
});
