// The fabric on the least-privilege users `fabric auth init` makes: the router on user `router`,
// specs applied as `operator`, a backend served. (Agents on their own users, writing the host-scoped
// layout: test/router/tenancy.test.ts.)
import path from 'node:path';
import type { Etcd3 } from 'etcd3';
import { beforeAll, describe, expect, it } from 'vitest';
import { runFabric } from '../cli/support.js';
import { type EtcdServer, waitFor } from '../harness/index.js';
import { startAuthEtcd } from './auth-support.js';
import { DOMAIN, endpoint, putEndpoint, type RunningRouter, startRouter, startWebServers, useResources } from './support.js';

const { file } = useResources();
let etcd: EtcdServer;
let root: Etcd3;
let router: RunningRouter;
let users: string;

beforeAll(async () => {
  ({ etcd, root, users } = await startAuthEtcd(file, ['hostA']));
  router = await startRouter(file, etcd, { extraArgs: ['--etcd-user', 'router', '--etcd-password-file', path.join(users, 'router')] });
}, 90_000);

const as = (user: string) => ['--etcd', etcd.endpoint, '--etcd-user', user, '--etcd-password-file', path.join(users, user)];

describe('least privilege', () => {
  it('a router on user `router` serves what the operator applies; it publishes its status', async () => {
    const [server] = await startWebServers(file, ['lp0']);
    const applied = await runFabric(['apply', '-f', '-', ...as('operator')], { input: 'kind: Service\nname: lp-web\n' });
    expect(applied.stderr).toBe('');
    // Written as root, in the older layout (another registrar's, or an agent's before the upgrade).
    await router.waitApplied(await putEndpoint(root, endpoint({ service: 'lp-web', host: 'hostA', port: server!.port })));
    await waitFor(async () => (await router.request(`lp-web.${DOMAIN}`)).status === 200, { timeoutMs: 20_000, what: 'lp-web served' });
    const status = await root.getAll().prefix('/fabric/status/routers/').keys();
    expect(status.length).toBeGreaterThan(0);
    const get = await runFabric(['get', 'services', '-o', 'json', ...as('operator')]);
    expect(get.code).toBe(0);
    expect(get.stdout).toContain('lp-web');
  });
});
