// Issue 2, agent §2 (kill, stop, die, destroy, pause, unpause, health_status, network connect and
// disconnect), §5 (drain) and §6 (Docker HEALTHCHECK).
import { describe, expect, it } from 'vitest';
import { EtcdView, runCustom, runWeb, startAgent, testDocker, useAgentCleanup, useSharedEtcd, waitFor } from './support.js';

useAgentCleanup();
const sharedEtcd = useSharedEtcd();
const { docker } = testDocker();

async function isRunning(id: string): Promise<boolean> {
  return (await docker.getContainer(id).inspect()).State.Running;
}

describe('container lifecycle events', () => {
  it('docker stop drains at the first kill (container still running), and removes after die', async () => {
    const etcd = sharedEtcd();
    const agent = await startAgent(etcd);
    const view = new EtcdView(etcd);
    const web = await runWeb(docker, { labels: { 'fabric.service': 'drainme' } });
    const registered = await view.waitForEndpoint(web.id, (e) => e.state === 'up');

    // busybox httpd is PID 1 and ignores SIGTERM: `docker stop -t 4` sends kill(15), waits 4 s,
    // then kill(9) → die → stop. The endpoint must turn draining during those 4 s.
    const stopped = web.stop(4);
    const draining = await view.waitForEndpoint(web.id, (e) => e.state === 'draining', { timeoutMs: 3_000 });
    expect(await isRunning(web.id)).toBe(true);
    expect(draining).toMatchObject({ service: 'drainme', address: registered.address, port: registered.port });

    await stopped;
    await view.waitForNoEndpoint(web.id, { timeoutMs: 5_000 });
    expect((await agent.endpoints()).endpoints).toEqual([]);
  });

  it('docker kill -s HUP does not drain (no write at all)', async () => {
    const etcd = sharedEtcd();
    const agent = await startAgent(etcd);
    const view = new EtcdView(etcd);
    const web = await runWeb(docker, { labels: { 'fabric.service': 'reload' } });
    const before = await view.waitForEndpoint(web.id);
    const killEvents = await agent.metric('fabric_agent_docker_events_total', { type: 'container', action: 'kill' }).catch(() => 0);

    await web.kill('SIGHUP');
    await waitFor(async () => (await agent.metric('fabric_agent_docker_events_total', { type: 'container', action: 'kill' })) > killEvents, {
      what: 'the kill event reaching the agent',
    });
    // A marker container started after the HUP: once it is in etcd, the agent has handled the
    // kill event that came before it on the same stream.
    const marker = await runWeb(docker, { labels: { 'fabric.service': 'marker' } });
    await view.waitForEndpoint(marker.id);

    expect(await isRunning(web.id)).toBe(true);
    const after = await view.endpoint(web.id);
    expect(after).toMatchObject({ state: 'up' });
    expect(after!.modRevision).toBe(before.modRevision);
  });

  it('docker kill (SIGKILL) removes the endpoint', async () => {
    const etcd = sharedEtcd();
    await startAgent(etcd);
    const view = new EtcdView(etcd);
    const web = await runWeb(docker, { labels: { 'fabric.service': 'killme' } });
    const other = await runWeb(docker, { labels: { 'fabric.service': 'killme' } });
    await view.waitForEndpoint(web.id);
    await view.waitForEndpoint(other.id);
    await web.kill('SIGKILL');
    await view.waitForNoEndpoint(web.id, { timeoutMs: 5_000 });
    expect(await view.endpoint(other.id)).toMatchObject({ state: 'up' });
  });

  it('a container whose process exits by itself (die, no kill event) is removed', async () => {
    const etcd = sharedEtcd();
    await startAgent(etcd);
    const view = new EtcdView(etcd);
    // PID 1 is a shell that serves HTTP (httpd daemonizes) until told to exit through a file.
    const web = await runCustom(docker, {
      labels: { 'fabric.service': 'dies' },
      cmd: ['/bin/sh', '-c', 'httpd -p 80 -h /www; while [ ! -e /tmp/exit ]; do sleep 1; done; exit 3'],
      exposed: [80],
      published: [80],
    });
    await view.waitForEndpoint(web.id);
    const exec = await web.container.exec({ Cmd: ['/bin/sh', '-c', 'echo > /tmp/exit'] });
    await exec.start({ Detach: true });
    await waitFor(async () => !(await isRunning(web.id)), { what: 'container exit' });
    expect((await web.container.inspect()).State.ExitCode).toBe(3);
    await view.waitForNoEndpoint(web.id, { timeoutMs: 5_000 });
  });

  it('docker rm -f (kill, die, destroy) removes the endpoint', async () => {
    const etcd = sharedEtcd();
    await startAgent(etcd);
    const view = new EtcdView(etcd);
    const web = await runWeb(docker, { labels: { 'fabric.service': 'destroyed' } });
    await view.waitForEndpoint(web.id);
    await web.remove();
    await view.waitForNoEndpoint(web.id, { timeoutMs: 5_000 });
  });

  it('pause removes the endpoint and unpause brings it back up', async () => {
    const etcd = sharedEtcd();
    await startAgent(etcd);
    const view = new EtcdView(etcd);
    const web = await runWeb(docker, { labels: { 'fabric.service': 'pausable' } });
    const registered = await view.waitForEndpoint(web.id);
    await web.container.pause();
    await view.waitForNoEndpoint(web.id, { timeoutMs: 5_000 });
    await web.container.unpause();
    const back = await view.waitForEndpoint(web.id, (e) => e.state === 'up', { timeoutMs: 5_000 });
    expect(back).toMatchObject({ address: registered.address, port: registered.port });
  });

  it('a stopped container started again is registered again', async () => {
    const etcd = sharedEtcd();
    await startAgent(etcd);
    const view = new EtcdView(etcd);
    const web = await runWeb(docker, { labels: { 'fabric.service': 'again' } });
    await view.waitForEndpoint(web.id);
    await web.container.kill();
    await view.waitForNoEndpoint(web.id);
    await web.container.start();
    const back = await view.waitForEndpoint(web.id, (e) => e.state === 'up', { timeoutMs: 5_000 });
    const hostPort = Number((await web.container.inspect()).NetworkSettings.Ports['80/tcp']?.[0]?.HostPort);
    expect(back.port).toBe(hostPort);
  });
});

describe('network connect and disconnect (container address mode)', () => {
  it('disconnect removes the endpoint; connect registers the new address', async () => {
    const etcd = sharedEtcd();
    await startAgent(etcd, { addressMode: 'container', network: 'bridge' });
    const view = new EtcdView(etcd);
    const web = await runWeb(docker, { labels: { 'fabric.service': 'netty' }, publish: false });
    const ipOf = async () => (await web.container.inspect()).NetworkSettings.Networks.bridge?.IPAddress;
    const first = await view.waitForEndpoint(web.id);
    expect(first.address).toBe(await ipOf());

    const bridge = docker.getNetwork('bridge');
    await bridge.disconnect({ Container: web.id });
    await view.waitForNoEndpoint(web.id, { timeoutMs: 5_000 });
    expect(await isRunning(web.id)).toBe(true);

    await bridge.connect({ Container: web.id });
    const ip = await ipOf();
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const back = await view.waitForEndpoint(web.id, (e) => e.address === ip, { timeoutMs: 5_000 });
    expect(back).toMatchObject({ port: 80, state: 'up' });
  });
});

describe('Docker HEALTHCHECK', () => {
  it('a passing healthcheck: registered as starting, then healthy', async () => {
    const etcd = sharedEtcd();
    await startAgent(etcd);
    const view = new EtcdView(etcd);
    const web = await runWeb(docker, {
      labels: { 'fabric.service': 'checked' },
      healthcheck: { test: ['CMD', '/bin/busybox', 'true'], intervalMs: 1_000 },
    });
    const healthy = await view.waitForEndpoint(web.id, (e) => e.health === 'healthy', { timeoutMs: 10_000 });
    const history = (await view.endpointHistory(healthy.key)).map((e) => e.health);
    expect(history).toEqual(['starting', 'healthy']);
  });

  it('a failing healthcheck: registered as starting, then unhealthy', async () => {
    const etcd = sharedEtcd();
    await startAgent(etcd);
    const view = new EtcdView(etcd);
    const web = await runWeb(docker, {
      labels: { 'fabric.service': 'sick' },
      healthcheck: { test: ['CMD', '/bin/busybox', 'false'], intervalMs: 1_000, retries: 1 },
    });
    const sick = await view.waitForEndpoint(web.id, (e) => e.health === 'unhealthy', { timeoutMs: 10_000 });
    expect(sick.state).toBe('up');
    const history = (await view.endpointHistory(sick.key)).map((e) => e.health);
    expect(history).toEqual(['starting', 'unhealthy']);
  });

  it('a container already healthy when the agent starts is registered as healthy', async () => {
    const etcd = sharedEtcd();
    const web = await runWeb(docker, {
      labels: { 'fabric.service': 'checked' },
      healthcheck: { test: ['CMD', '/bin/busybox', 'true'], intervalMs: 300 },
    });
    await waitFor(async () => (await web.container.inspect()).State.Health?.Status === 'healthy', { what: 'healthy' });
    await startAgent(etcd);
    expect(await new EtcdView(etcd).endpoint(web.id)).toMatchObject({ health: 'healthy' });
  });
});
