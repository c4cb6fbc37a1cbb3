// Issue 2, agent §1, §2 (startup and start events), §4 (host record), §7 (address modes), §11 (API).
import { describe, expect, it } from 'vitest';
import { freePort } from '../harness/index.js';
import { EtcdView, metricValue, runWeb, startAgent, testDocker, useAgentCleanup, useSharedEtcd, waitFor } from './support.js';

useAgentCleanup();
const sharedEtcd = useSharedEtcd();
const { docker } = testDocker();

describe('agent registration', () => {
  it('registers a labelled container that was running before it started, with every label in the endpoint JSON', async () => {
    const etcd = sharedEtcd();
    const web = await runWeb(docker, {
      labels: {
        'fabric.service': 'shop',
        'fabric.port': '80',
        'fabric.domains': 'WWW.Example.com, example.com',
        'fabric.path': '/api',
        'fabric.weight': '42',
        'fabric.version': 'v2',
        'fabric.mode': 'tcp',
        'fabric.health.path': '/healthz',
        'fabric.health.interval': '2s',
      },
    });
    const plain = await runWeb(docker, { labels: {} });
    const other = await runWeb(docker, { labels: { 'com.example.team': 'shop' } });
    const agent = await startAgent(etcd, { hostName: 'node-a' });
    const view = new EtcdView(etcd);

    // Ready means the first reconcile is written: no waiting needed.
    const endpoints = await view.endpoints();
    expect(endpoints).toHaveLength(1);
    const [endpoint] = endpoints;
    expect(endpoint!.key).toBe(`hosts/node-a/endpoints/shop/${web.id}`);
    const { key: _key, lease: _lease, modRevision: _rev, ...json } = endpoint!;
    expect(json).toEqual({
      service: 'shop',
      host: 'node-a',
      container: web.id,
      name: web.name,
      address: '127.0.0.1',
      port: web.hostPort,
      weight: 42,
      version: 'v2',
      mode: 'tcp',
      domains: ['www.example.com', 'example.com'],
      path: '/api',
      health: 'none',
      state: 'up',
      check: { path: '/healthz', intervalMs: 2000 },
    });

    // Unlabelled containers are neither registered nor rejected.
    const api = await agent.endpoints();
    expect(api.endpoints.map((e: { container: string }) => e.container)).toEqual([web.id]);
    expect(api.rejected).toEqual([]);
    for (const id of [plain.id, other.id]) expect(JSON.stringify(await view.keys())).not.toContain(id);
  });

  it('fills in defaults: weight 100, mode http, no domains, the single published port', async () => {
    const etcd = sharedEtcd();
    const web = await runWeb(docker, { labels: { 'fabric.service': 'plain' }, port: 8080 });
    await startAgent(etcd);
    const endpoint = await new EtcdView(etcd).endpoint(web.id);
    expect(endpoint).toMatchObject({
      service: 'plain',
      address: '127.0.0.1',
      port: web.hostPort,
      weight: 100,
      mode: 'http',
      domains: [],
      health: 'none',
      state: 'up',
    });
    expect(endpoint).not.toHaveProperty('version');
    expect(endpoint).not.toHaveProperty('path');
    expect(endpoint).not.toHaveProperty('check');
  });

  it('registers a container started after it from the Docker start event, long before any resync', async () => {
    const etcd = sharedEtcd();
    const agent = await startAgent(etcd, { resyncInterval: '10m' });
    const view = new EtcdView(etcd);
    const startsBefore = await agent.metric('fabric_agent_docker_events_total', { action: 'start' }).catch(() => 0);
    const latencyCountBefore = await agent.metric('fabric_agent_event_to_etcd_seconds_count');

    const web = await runWeb(docker, { labels: { 'fabric.service': 'late' } });
    // The periodic resync is 10 minutes away: only the start event can bring it here this fast.
    const endpoint = await view.waitForEndpoint(web.id, undefined, { timeoutMs: 5_000 });
    expect(endpoint).toMatchObject({ service: 'late', address: '127.0.0.1', port: web.hostPort, state: 'up' });

    const metrics = await agent.metricsText();
    expect(metricValue(metrics, 'fabric_agent_docker_events_total', { type: 'container', action: 'start' })).toBeGreaterThan(startsBefore);
    expect(metricValue(metrics, 'fabric_agent_event_to_etcd_seconds_count')).toBeGreaterThan(latencyCountBefore);
  });

  it('writes hosts/<host> with its name, address, version and start time', async () => {
    const etcd = sharedEtcd();
    const agent = await startAgent(etcd, { hostName: 'node-h', hostIp: '127.0.0.7' });
    const host = await new EtcdView(etcd).host('node-h');
    expect(host).toMatchObject({ name: 'node-h', address: '127.0.0.7', agentVersion: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(Number.isNaN(Date.parse(host!.started))).toBe(false);
    expect(host!.lease).toBe(await agent.leaseId());
  });

  it('counts the containers it registers and rejects in hosts/<host>, rewritten when a count changes', async () => {
    const etcd = sharedEtcd();
    const view = new EtcdView(etcd);
    await startAgent(etcd, { hostName: 'node-c' });
    const counts = async () => ((await view.host('node-c')) as { containers?: { registered: number; rejected: number } } | undefined)?.containers;
    expect(await counts()).toEqual({ registered: 0, rejected: 0 });
    const good = await runWeb(docker, { labels: { 'fabric.service': 'counted' } });
    await runWeb(docker, { labels: { 'fabric.service': 'counted', 'fabric.weight': '9000' } });
    await waitFor(async () => (await counts())?.registered === 1 && (await counts())?.rejected === 1, { timeoutMs: 10_000, what: '1 registered, 1 rejected' });
    await good.remove();
    await waitFor(async () => (await counts())?.registered === 0 && (await counts())?.rejected === 1, { timeoutMs: 10_000, what: '0 registered, 1 rejected' });
  });

  it('keeps to its --etcd-prefix', async () => {
    const etcd = sharedEtcd();
    const web = await runWeb(docker, { labels: { 'fabric.service': 'web' } });
    await startAgent(etcd, { prefix: '/other/root', hostName: 'node-p' });
    const view = new EtcdView(etcd, '/other/root');
    expect((await view.keys()).map((k) => k.key)).toEqual([`hosts/node-p/endpoints/web/${web.id}`, 'hosts/node-p/info']);
    expect(await new EtcdView(etcd, '/fabric').keys()).toEqual([]);
  });
});

describe('address modes', () => {
  it('published: the port published on 127.0.0.1 is registered as 127.0.0.1:<host port>, not as --host-ip', async () => {
    const etcd = sharedEtcd();
    const web = await runWeb(docker, { labels: { 'fabric.service': 'pub' } });
    await startAgent(etcd, { hostIp: '127.0.0.9' });
    const endpoint = await new EtcdView(etcd).endpoint(web.id);
    expect(endpoint).toMatchObject({ address: '127.0.0.1', port: web.hostPort });
    expect(web.hostPort).not.toBe(80);
  });

  it("container: the container's bridge address (from inspect) and the container port", async () => {
    const etcd = sharedEtcd();
    const web = await runWeb(docker, { labels: { 'fabric.service': 'ctr' }, port: 8080, publish: false });
    await startAgent(etcd, { addressMode: 'container' });
    const info = await web.container.inspect();
    const ip = info.NetworkSettings.Networks.bridge?.IPAddress;
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // Only read from etcd: tests never send traffic to bridge addresses.
    expect(await new EtcdView(etcd).endpoint(web.id)).toMatchObject({ address: ip, port: 8080 });
  });

  it('container with --network: the address on that network', async () => {
    const etcd = sharedEtcd();
    const web = await runWeb(docker, { labels: { 'fabric.service': 'ctr' }, publish: false });
    await startAgent(etcd, { addressMode: 'container', network: 'bridge' });
    const ip = (await web.container.inspect()).NetworkSettings.Networks.bridge?.IPAddress;
    expect(await new EtcdView(etcd).endpoint(web.id)).toMatchObject({ address: ip, port: 80 });
  });

  it('host: a host-network container is registered as --host-ip and fabric.port', async () => {
    const etcd = sharedEtcd();
    const port = await freePort();
    const web = await runWeb(docker, { labels: { 'fabric.service': 'hostnet', 'fabric.port': String(port) }, hostNetwork: { port } });
    await startAgent(etcd, { addressMode: 'host', hostIp: '127.0.0.1' });
    expect(await new EtcdView(etcd).endpoint(web.id)).toMatchObject({ address: '127.0.0.1', port });
    // It really is served there.
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2_000) })).ok, {
      what: 'host-network httpd',
    });
  });

  it('a host-network container is registered at --host-ip even in published mode', async () => {
    const etcd = sharedEtcd();
    const port = await freePort();
    const web = await runWeb(docker, { labels: { 'fabric.service': 'hostnet', 'fabric.port': String(port) }, hostNetwork: { port } });
    await startAgent(etcd, { hostIp: '127.0.0.3' });
    expect(await new EtcdView(etcd).endpoint(web.id)).toMatchObject({ address: '127.0.0.3', port });
  });
});

describe('HTTP API', () => {
  it('serves /healthz, /readyz, /v1/status, /v1/endpoints and /metrics', async () => {
    const etcd = sharedEtcd();
    const web = await runWeb(docker, { labels: { 'fabric.service': 'api' } });
    const agent = await startAgent(etcd, { hostName: 'node-api' });

    expect((await agent.get('/healthz')).status).toBe(200);
    const ready = await agent.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json).toMatchObject({ ready: true, reasons: [] });

    const status = await agent.status();
    expect(status).toMatchObject({
      state: 'running',
      host: 'node-api',
      hostIp: '127.0.0.1',
      addressMode: 'published',
      docker: 'connected',
      lease: { state: 'granted', id: expect.stringMatching(/^\d+$/) },
      registered: 1,
      rejected: [],
    });

    const endpoints = await agent.endpoints();
    expect(endpoints.host).toBe('node-api');
    expect(endpoints.endpoints).toHaveLength(1);
    expect(endpoints.endpoints[0]).toMatchObject({ service: 'api', container: web.id, address: '127.0.0.1', port: web.hostPort });
    expect(endpoints.rejected).toEqual([]);

    const metrics = await agent.get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/^# TYPE fabric_agent_etcd_writes_total counter$/m);
    expect(metricValue(metrics.text, 'fabric_agent_etcd_writes_total', { op: 'put' })).toBeGreaterThanOrEqual(2);
    expect(metricValue(metrics.text, 'fabric_agent_etcd_writes_total', { op: 'delete' })).toBe(0);
    expect(metricValue(metrics.text, 'fabric_agent_resyncs_total')).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics.text, 'fabric_agent_registered_endpoints')).toBe(1);
    expect(metricValue(metrics.text, 'fabric_agent_rejected_containers')).toBe(0);
    for (const name of [
      'fabric_agent_event_to_etcd_seconds_bucket',
      'fabric_agent_etcd_txns_total',
      'fabric_agent_docker_events_total',
      'fabric_agent_sync_errors_total',
    ]) {
      expect(metrics.text).toContain(name);
    }
    expect((await agent.get('/nope')).status).toBe(404);
  });
});
