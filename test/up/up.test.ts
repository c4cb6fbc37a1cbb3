// `fabric up` end to end: embedded etcd, router with a supervised HAProxy, agent on the harness's
// private dockerd; a labelled container answers at its subdomain; SIGINT stops everything.
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, pidsWithArg, runWeb, testDocker, type WebContainer, waitFor } from '../harness/index.js';
import { childPids, DOMAIN, getVia, startUp, type UpProcess } from './support.js';

describe('fabric up', () => {
  let up: UpProcess | undefined;
  let web: WebContainer | undefined;
  afterEach(async () => {
    await web?.remove();
    await up?.release();
    up = web = undefined;
  });

  it('starts etcd, router, HAProxy and agent, serves a labelled container at its subdomain, and stops all of it on SIGINT', async () => {
    up = await startUp();
    const out = up.proc.output();
    for (const part of ['HTTP frontend', 'dashboard', 'API', 'etcd', 'agent']) expect(out).toContain(part);

    // Every part answers.
    expect((await fetch(`${up.etcd}/health`)).status).toBe(200);
    expect((await fetch(`${up.api}/readyz`)).status).toBe(200);
    await waitFor(async () => (await fetch(`${up!.agentApi}/readyz`)).status === 200, { what: 'agent /readyz', timeoutMs: 20_000 });
    const children = childPids(up.proc.pid);
    expect(children.length).toBeGreaterThanOrEqual(2); // etcd, HAProxy master (+ worker)

    // A labelled container is served at <service>.<domain> through HAProxy.
    web = await runWeb(testDocker().docker, { labels: { 'fabric.service': 'uptest' }, body: 'hello from uptest' });
    const answer = await waitFor(
      async () => {
        const res = await getVia(up!.httpPort, `uptest.${DOMAIN}`);
        return res.status === 200 && res.body.includes('hello from uptest') && res;
      },
      { what: `uptest.${DOMAIN} through HAProxy`, timeoutMs: 20_000 },
    );
    expect(answer.body).toContain('hello from uptest');

    // SIGINT: everything stops in order and nothing is left behind.
    const exit = await up.proc.stop('SIGINT', 20_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(up.proc.output()).toMatch(/stopping agent[\s\S]*stopping router and HAProxy[\s\S]*stopping etcd[\s\S]*stopped\./);
    expect(children.filter(isAlive)).toEqual([]);
    expect(pidsWithArg(up.dataDir)).toEqual([]);
  });

  it('--demo builds the busybox image, starts three web containers and shows each answering in turn; SIGINT removes them', async () => {
    up = await startUp(['--demo']);
    const out = up.proc.output();
    expect(out).toContain(`curl -H 'Host: web.${DOMAIN}'`);
    for (const name of ['web-1', 'web-2', 'web-3']) expect(out).toContain(`200: hello from ${name}`);
    const demo = () => testDocker().docker.listContainers({ all: true, filters: { label: ['fabric.demo=true'] } });
    expect(await demo()).toHaveLength(3);

    expect((await up.proc.stop('SIGINT', 20_000)).code).toBe(0);
    expect(up.proc.output()).toContain('stopping demo containers');
    expect(await demo()).toHaveLength(0);
  });
});
