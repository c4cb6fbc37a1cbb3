// Domain ownership through a real HAProxy: the first spec to claim a domain keeps it; a container
// label (or a newer spec) claiming it is refused, takes no traffic, and the conflict is visible.
import { beforeAll, describe, expect, it } from 'vitest';
import { bodies, endpoint, putEndpoint, putRaw, startWebServers, useRouterSuite, type WebServer, waitFor } from './support.js';

const suite = useRouterSuite();
let servers: WebServer[];

beforeAll(async () => {
  servers = await startWebServers(suite.file, ['owner', 'thief', 'first', 'second']);
});

const putService = (spec: Record<string, unknown>) => putRaw(suite.client, `services/${String(spec.name)}`, JSON.stringify({ kind: 'Service', ...spec }));

async function conflictsOf(service: string): Promise<string[]> {
  const view = await suite.router.get(`/v1/services/${service}`);
  return (view.json.conflicts ?? []).map((c: any) => `${c.code}: ${c.message}`);
}

async function statusConflicts(): Promise<string[]> {
  return (await suite.router.status()).issues.filter((i: any) => i.code === 'FABRIC_ERR_CONFLICT').map((i: any) => `${i.subject}: ${i.message}`);
}

describe('domain ownership', () => {
  it('a container label claiming a domain a Service spec owns is refused; traffic unchanged', async () => {
    await putService({ name: 'owner', domains: ['shop.example.com'] });
    await suite.router.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'owner', port: servers[0]!.port })));
    expect(new Set(await bodies(suite.router, 'shop.example.com', 6))).toEqual(new Set(['owner']));
    const reloadsBefore = await suite.router.reloads();

    // The label comes later, on the same host and on a path of it.
    const thief = endpoint({ service: 'thief', port: servers[1]!.port, domains: ['shop.example.com'] });
    const sneak = endpoint({ service: 'sneak', port: servers[1]!.port, domains: ['shop.example.com'], path: '/checkout' });
    await putEndpoint(suite.client, thief);
    await suite.router.waitApplied(await putEndpoint(suite.client, sneak));

    expect(new Set(await bodies(suite.router, 'shop.example.com', 12))).toEqual(new Set(['owner']));
    expect((await suite.router.request('shop.example.com', '/checkout')).body).toBe('owner');
    // The thief still answers at its own automatic subdomain.
    expect((await suite.router.request('thief.apps.test')).body).toBe('thief'); // its own automatic subdomain still works
    const expected = 'FABRIC_ERR_CONFLICT: shop.example.com is already claimed by service owner; claim by thief refused';
    expect(await conflictsOf('thief')).toContain(expected);
    // A path on the owned host is refused too.
    expect(await conflictsOf('sneak')).toEqual(['FABRIC_ERR_CONFLICT: shop.example.com/checkout is already claimed by service owner; claim by sneak refused']);
    expect(await statusConflicts()).toContain(`services/thief: ${expected.replace('FABRIC_ERR_CONFLICT: ', '')}`);
    expect(await conflictsOf('owner')).toEqual([]);
    expect((await suite.router.get('/v1/services/thief')).json.domains).toEqual(['thief.apps.test']);
    expect((await suite.router.reloads()).failed).toBe(reloadsBefore.failed);
  });

  it('a spec outranks an older label; between specs the older wins', async () => {
    // A label claims first …
    await suite.router.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'first', port: servers[2]!.port, domains: ['label.example.com'] })));
    expect((await suite.router.request('label.example.com')).body).toBe('first');
    // … then a spec claims the same domain: the spec wins.
    await putService({ name: 'second', domains: ['label.example.com', 'dup.example.com'] });
    await suite.router.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'second', port: servers[3]!.port })));
    await waitFor(async () => (await suite.router.request('label.example.com')).body === 'second', { timeoutMs: 10_000, what: 'the spec takes the domain' });
    expect(await conflictsOf('first')).toContain('FABRIC_ERR_CONFLICT: label.example.com is already claimed by service second; claim by first refused');

    // A newer spec for a domain the older spec holds is refused.
    await suite.router.waitApplied(await putService({ name: 'first', domains: ['dup.example.com'] }));
    expect(new Set(await bodies(suite.router, 'dup.example.com', 6))).toEqual(new Set(['second']));
    expect(await conflictsOf('first')).toContain('FABRIC_ERR_CONFLICT: dup.example.com is already claimed by service second; claim by first refused');
    expect(await statusConflicts()).toContain('services/first: dup.example.com is already claimed by service second; claim by first refused');
  });
});
