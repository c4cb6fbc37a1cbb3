// The router owns nginx across its own restarts and crashes: an nginx kept on exit (or left by a
// killed router) is adopted by the next router on the same config, with no second nginx and no
// failed request; `--lb-on-exit stop` leaves none; two routers on one port never both serve.
import { describe, expect, it } from 'vitest';
import { isNginx } from '../../lb/nginx/procfs.js';
import { freePorts } from '../harness/index.js';
import { type NginxRouter, startNginxRouter } from './nginx-support.js';
import { endpoint, PREFIX, putEndpoint, putRaw, startWebServers, trafficDuring, useRouterSuite, waitFor } from './support.js';

const suite = useRouterSuite({
  router: false,
  afterEach: async () => void (await suite.client.delete().prefix(`${PREFIX}/`).exec()),
});

/** A router serving `service` (one endpoint per body) through nginx. */
async function servingRouter(service: string, bodies: string[], opts: Parameters<typeof startNginxRouter>[2] = {}): Promise<NginxRouter> {
  const router = await startNginxRouter(suite.perTest, suite.etcd, opts);
  for (const server of await startWebServers(suite.perTest, bodies)) {
    await router.waitApplied(await putEndpoint(suite.client, endpoint({ service, port: server.port })));
  }
  await waitFor(async () => (await router.request(`${service}.apps.test`)).status === 200, { what: `${service} served through nginx` });
  return router;
}

/** 40 requests to `host` through `router`'s nginx, each on a fresh connection: how many `body` answered. */
async function answeredBy(router: NginxRouter, host: string, body: string): Promise<number> {
  let n = 0;
  for (let i = 0; i < 40; i++) if ((await router.request(host)).body === body) n += 1;
  return n;
}

/**
 * The router exits with `signal` under traffic and a new one starts on the same config; returns the
 * new router, the traffic report, and how long the new router took from spawn to /readyz 200.
 */
async function restartUnderTraffic(first: NginxRouter, host: string, signal: 'SIGTERM' | 'SIGKILL', whileDown?: () => Promise<void>) {
  const master = first.masterPid();
  const traffic = await trafficDuring(
    (opts) => first.request(host, '/', opts),
    4_000,
    async () => {
      await first.exit(signal);
      expect(isNginx(master), 'nginx outlives its router').toBe(true);
      await whileDown?.();
      const started = Date.now();
      const second = await startNginxRouter(suite.perTest, suite.etcd, { from: first });
      return { second, adoptMs: Date.now() - started };
    },
  );
  console.info(
    `[nginx adopt] ${signal}: ${traffic.total} requests during the restart, ${traffic.failures.length} failed; adopted and ready in ${traffic.result.adoptMs} ms`,
  );
  return { ...traffic.result, traffic, master };
}

describe('nginx adoption', () => {
  it('a router stopped with SIGTERM (keep) leaves nginx serving; the next one adopts it with no reload', async () => {
    const first = await servingRouter('kept', ['kept-1', 'kept-2']);
    const reconfigurations = first.reconfigurations();
    const { second, traffic, master } = await restartUnderTraffic(first, 'kept.apps.test', 'SIGTERM');
    expect(traffic.failures, `${traffic.failures.length} of ${traffic.total} requests failed`).toEqual([]);
    expect(traffic.total).toBeGreaterThan(100);
    expect([...traffic.seenAfter].sort()).toEqual(['kept-1', 'kept-2']);

    // Adopted: the same master, the only one on this config, and nothing reloaded (it already served the model).
    expect(second.masters()).toEqual([master]);
    expect(second.masterPid()).toBe(master);
    expect(second.reconfigurations()).toBe(reconfigurations);
    expect(await second.metric('fabric_router_reloads_total', { target: 'nginx' })).toBe(0);
    expect(await second.servesConfigOnDisk()).toBe(true);
    expect(second.proc.output()).toMatch(/adopted nginx/);

    // The adopted nginx follows the model: a service added now is served, 40 of 40.
    const [added] = await startWebServers(suite.perTest, ['added']);
    await second.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'added', port: added!.port })));
    expect(await answeredBy(second, 'added.apps.test', 'added')).toBe(40);
    expect(second.masters()).toEqual([master]);
  });

  it('a router killed with SIGKILL leaves nginx serving; the next one adopts it, converges with one reload, and restarts it when it dies', async () => {
    const first = await servingRouter('crash', ['crash-1']);
    const reconfigurations = first.reconfigurations();
    // While no router runs, the model changes (a new service with a policy: a server block of its own):
    // the adopting router converges with one verified reload.
    const [late] = await startWebServers(suite.perTest, ['late']);
    const { second, traffic, master } = await restartUnderTraffic(first, 'crash.apps.test', 'SIGKILL', async () => {
      await putRaw(suite.client, 'services/late', JSON.stringify({ kind: 'Service', name: 'late', headers: { response: { 'X-Late': 'yes' } } }));
      await putEndpoint(suite.client, endpoint({ service: 'late', port: late!.port }));
    });
    expect(traffic.failures, `${traffic.failures.length} of ${traffic.total} requests failed`).toEqual([]);
    expect(traffic.total).toBeGreaterThan(100);
    expect(second.masters()).toEqual([master]);
    expect(second.reconfigurations()).toBe(reconfigurations + 1);
    expect(await second.metric('fabric_router_reloads_total', { target: 'nginx' })).toBe(1);
    expect(await answeredBy(second, 'late.apps.test', 'late')).toBe(40);

    const [added] = await startWebServers(suite.perTest, ['added']);
    await second.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'added', port: added!.port })));
    expect(await answeredBy(second, 'added.apps.test', 'added')).toBe(40);

    // The adopted nginx is not the router's child: its death is noticed by pid, and it is started again.
    const workers = second.workers().map((w) => w.pid);
    process.kill(master, 'SIGKILL');
    const restarted = await waitFor(
      async () => {
        const masters = second.masters();
        return masters.length === 1 && masters[0] !== master && (await second.request('crash.apps.test')).body === 'crash-1' ? masters[0] : undefined;
      },
      { timeoutMs: 15_000, what: 'the adopted nginx restarted by the router after it died' },
    );
    expect(second.masterPid()).toBe(restarted);
    await waitFor(() => workers.every((pid) => !isNginx(pid)), { what: "the dead master's workers gone" });
    await waitFor(async () => (await second.target()).lastApply?.action === 'start' && (await second.isReady()), {
      what: 'the restart reported in /v1/status and /readyz 200',
    });
  });

  it('adopts before etcd answers: a router restarted while etcd is unreachable serves on through the same nginx', async () => {
    const first = await servingRouter('early', ['early-1']);
    const master = first.masterPid();
    await first.exit('SIGTERM');
    // Nothing listens on this port: the new router only has what runs on its config.
    const [deadPort] = await freePorts(1);
    const second = await startNginxRouter(suite.perTest, suite.etcd, { from: first, etcdUrl: `http://127.0.0.1:${deadPort}`, waitReady: false });
    await second.proc.waitForLine(/adopted nginx/, 15_000);
    expect(second.masters()).toEqual([master]);
    expect(await answeredBy(second, 'early.apps.test', 'early-1')).toBe(40);
    const ready = await second.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.text).toMatch(/etcd/);
  });

  it('--lb-on-exit stop leaves no nginx behind', async () => {
    const router = await servingRouter('gone', ['gone-1'], { lbOnExit: 'stop' });
    const pids = [router.masterPid(), ...router.workers().map((w) => w.pid)];
    await router.exit('SIGTERM');
    expect(router.masters()).toEqual([]);
    expect(pids.filter(isNginx)).toEqual([]);
    await expect(router.request('gone.apps.test', '/', { timeoutMs: 2_000 })).rejects.toThrow(/ECONNREFUSED/);
  });

  it('two routers on one port: the second reports FABRIC_ERR_PORT_IN_USE and is not ready, the first keeps all traffic', async () => {
    const first = await servingRouter('solo', ['solo-1'], { lbOnExit: 'stop' });
    const address = `127.0.0.1:${first.nginxPort}`;
    // The second router serves another domain: a request it answered would be a 404 here.
    const traffic = await trafficDuring(
      (opts) => first.request('solo.apps.test', '/', opts),
      3_000,
      async () => {
        const second = await startNginxRouter(suite.perTest, suite.etcd, { nginxPort: first.nginxPort, domain: 'other.test', waitReady: false });
        const failed = await waitFor(
          async () => {
            const t = await second.target();
            return t.lastError?.code === 'FABRIC_ERR_PORT_IN_USE' && t.counters.failures >= 3 ? t : undefined;
          },
          { timeoutMs: 20_000, what: 'the second router reporting FABRIC_ERR_PORT_IN_USE, and retrying' },
        );
        expect(failed.lastError.message).toContain(address);
        expect(failed.state).toBe('failed');
        const ready = await second.get('/readyz');
        expect(ready.status).toBe(503);
        expect(ready.text).toContain('FABRIC_ERR_PORT_IN_USE');
        expect(ready.text).toContain(address);
        expect(second.masters(), 'no nginx of the second router runs').toEqual([]);
        return second;
      },
    );
    expect(traffic.failures, `${traffic.failures.length} of ${traffic.total} requests failed`).toEqual([]);
    expect(traffic.total).toBeGreaterThan(100);
    expect([...traffic.seenAfter]).toEqual(['solo-1']);

    // It keeps retrying: once the port is free, the second router takes it and becomes ready.
    const second = traffic.result;
    await first.exit('SIGTERM');
    await waitFor(async () => (await second.isReady()) && (await second.request('solo.other.test')).body === 'solo-1', {
      timeoutMs: 20_000,
      what: 'the second router serving once the port is free',
    });
    expect(second.masters().length).toBe(1);
  });
});
