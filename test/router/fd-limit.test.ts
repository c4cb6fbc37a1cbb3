// HAProxy's descriptor budget (lb/haproxy/limits.ts): HAProxy 2.6 counts a descriptor for every
// server with a check, empty slots included, and by default refuses to start past the hard limit
// ("Cannot raise FD limit"). Under a 4,096 limit, 100 services × 10 endpoints (12 slots each) plus
// 800 spare backends (4 slots each) are 4,400 checked servers: HAProxy starts, serves them all, with
// the maxconn the router derived, and reloads at that size; a small config is left as it was.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { haproxyCommand } from '../../lb/haproxy/socket.js';
import { bodies, type EndpointJson, endpoint, etcdClient, putEndpoint, startEtcdFor, startRouter, startWebServers, useResources } from './support.js';

const { file, perTest } = useResources();
const NOFILE = 4_096;
// (4,096 − 4,096/4 − 512) / 2
const DERIVED_MAXCONN = 1_280;

async function showInfo(dir: string): Promise<Map<string, string>> {
  const text = await haproxyCommand(path.join(dir, 'run/admin.sock'), 'show info', 5_000);
  return new Map(text.split('\n').map((line) => line.split(': ') as [string, string]));
}

async function putAll(writer: ReturnType<typeof etcdClient>, endpoints: EndpointJson[]): Promise<number> {
  let revision = 0;
  for (let i = 0; i < endpoints.length; i += 50) {
    const revisions = await Promise.all(endpoints.slice(i, i + 50).map((e) => putEndpoint(writer, e)));
    revision = Math.max(revision, ...revisions);
  }
  return revision;
}

describe('HAProxy under a descriptor limit smaller than its checked servers', () => {
  it('starts, serves every service with the derived maxconn, and reloads at that size', async () => {
    const [web] = await startWebServers(file, ['w0']);
    const etcd = await startEtcdFor(perTest);
    const writer = etcdClient(perTest, etcd);
    const endpoints: EndpointJson[] = [];
    for (let s = 0; s < 100; s++) for (let e = 0; e < 10; e++) endpoints.push(endpoint({ service: `svc${s}`, port: web!.port }));
    const revision = await putAll(writer, endpoints);

    const router = await startRouter(perTest, etcd, { nofile: NOFILE, haproxy: { spares: 800 } });
    await router.waitApplied(revision);
    const config = router.config();
    expect(config).toMatch(/^ {2}no strict-limits$/m);
    expect(config).toMatch(new RegExp(`^ {2}maxconn ${DERIVED_MAXCONN}$`, 'm'));
    expect((config.match(/^ {2}server /gm) ?? []).length).toBe(100 * 12 + 800 * 4);
    // 4,400 slots: their TCP checks stay at the 10 s interval (past 10,000 it grows: lb/haproxy/limits.ts).
    expect(config).toMatch(/^ {2}default-server check inter 10s downinter 1s /m);
    const info = await showInfo(router.dir);
    expect(info.get('Maxconn')).toBe(String(DERIVED_MAXCONN));
    expect(info.get('Ulimit-n')).toBe(String(NOFILE));
    for (let s = 0; s < 100; s++) expect(await bodies(router, `svc${s}.apps.test`, 1), `svc${s}`).toEqual(['w0']);

    // Three more endpoints than svc0's 12 slots: the backend grows, HAProxy reloads at this size.
    const before = await router.reloads();
    const more = [0, 1, 2].map(() => endpoint({ service: 'svc0', port: web!.port }));
    await router.waitApplied(await putAll(writer, more));
    const after = await router.reloads();
    expect(after.master).toBe(before.master + 1);
    expect(after.failed).toBe(0);
    expect((await router.target()).lastApply.action).toBe('reload');
    expect(await bodies(router, 'svc0.apps.test', 2)).toEqual(['w0', 'w0']);
    expect((await showInfo(router.dir)).get('Maxconn')).toBe(String(DERIVED_MAXCONN));
  });

  it('leaves a config whose checks fit in the budget as it was: no maxconn, strict limits', async () => {
    const [web] = await startWebServers(file, ['w0']);
    const etcd = await startEtcdFor(perTest);
    const writer = etcdClient(perTest, etcd);
    const router = await startRouter(perTest, etcd, { nofile: NOFILE, haproxy: { spares: 8 } });
    await router.waitApplied(await putEndpoint(writer, endpoint({ service: 'web', port: web!.port })));
    expect(router.config()).not.toMatch(/strict-limits|^ {2}maxconn/m);
    expect(await bodies(router, 'web.apps.test', 1)).toEqual(['w0']);
  });
});
