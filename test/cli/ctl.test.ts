// `fabric apply`, `fabric get` and `fabric delete` end to end: the built CLI against a real etcd.
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { decodeEntry } from '../../lb/store.js';
import { commitChanges, planApply } from '../../src/ctl/apply.js';
import { loadResources } from '../../src/ctl/documents.js';
import { type Endpoint, encodeEndpoint } from '../../src/model/endpoint.js';
import { encodeHost } from '../../src/model/host.js';
import { makeTempDir } from '../harness/index.js';
import { fabric, keysUnder, putAll, useCluster, writeTemp } from './support.js';

const cluster = useCluster();
const temp = makeTempDir('fabric-cli-test-');
afterAll(() => temp.remove());

const RULES = `
# the contract's example
kind: Service
name: web
mode: http
domains: [www.example.com]
balance: roundrobin
vip: auto
port: 80
healthCheck: {path: /healthz, interval: 2s, timeout: 1s, rise: 2, fall: 2}
---
kind: Route
name: web-canary
host: www.example.com
path: /
backends:
  - {service: web, version: v1, weight: 90}
  - {service: web, version: v2, weight: 10}
---
kind: Service
name: db
mode: tcp
vip: none
`;

/** Document 3 is bad in two fields; the others are fine. */
const ONE_BAD = `
kind: Service
name: api
---
kind: Route
name: api-route
host: api.example.com
backends: [{service: api, weight: 100}]
---
kind: Route
name: broken
host: broken.example.com
backends:
  - {service: api, weight: 100}
  - {service: api, weight: 900}
sticky: maybe
`;

describe('fabric apply', { timeout: 120_000 }, () => {
  it('writes every document of a multi-document file, as the router decodes them', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const file = writeTemp(temp.path, 'rules.yaml', RULES);
    const result = await fabric(c, prefix, ['apply', '-f', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual(['service/web created', 'route/web-canary created', 'service/db created']);
    const keys = await keysUnder(c, prefix);
    expect([...keys.keys()].sort()).toEqual(['routes/web-canary', 'services/db', 'services/web']);
    for (const [key, kv] of keys) {
      const entry = decodeEntry(key, kv.value.toString(), Number(kv.create_revision));
      expect(entry.kind, `${key}: ${'error' in entry ? entry.error : ''}`).toMatch(/^(service|route)$/);
    }
    const web = JSON.parse(keys.get('services/web')!.value.toString());
    expect(web).toMatchObject({ name: 'web', domains: ['www.example.com'], healthCheck: { interval: 2000, fall: 2 } });
    const route = JSON.parse(keys.get('routes/web-canary')!.value.toString());
    expect(route.backends).toEqual([
      { service: 'web', version: 'v1', weight: 90 },
      { service: 'web', version: 'v2', weight: 10 },
    ]);
  });

  it('refuses a file with one bad document: nothing written, the error names the document and fields', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const file = writeTemp(temp.path, 'one-bad.yaml', ONE_BAD);
    const result = await fabric(c, prefix, ['apply', '-f', file]);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('FABRIC_ERR_SPEC');
    expect(result.stderr).toContain('1 invalid document, nothing applied');
    // document 3, its kind and name, the field path and the line of the field
    expect(result.stderr).toMatch(/one-bad\.yaml document 3 \(Route broken, line 15\): backends\.1\.weight: .*256/);
    expect(result.stderr).toMatch(/one-bad\.yaml document 3 \(Route broken, line 16\): sticky: /);
    expect(result.stderr).not.toMatch(/document [12] /);
    expect((await keysUnder(c, prefix)).size).toBe(0);
  });

  it('reports every problem at once: missing kind, unknown kind, YAML syntax, duplicate names', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const text = ['name: nokind', 'kind: Gateway\nname: gw', 'kind: Service\nname: dup', 'kind: Service\nname: dup', 'kind: Service\nname: x\nports: [\n'].join(
      '\n---\n',
    );
    const result = await fabric(c, prefix, ['apply', '-f', '-'], text);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('4 invalid documents, nothing applied');
    expect(result.stderr).toMatch(/<stdin> document 1 \(name nokind, line 1\): kind: required/);
    expect(result.stderr).toMatch(/<stdin> document 2 \(Gateway gw, line 3\): kind: "Gateway" is not one of Service, Route/);
    expect(result.stderr).toMatch(/<stdin> document 4 \(Service dup, line 9\): name: duplicate: .*document 3/);
    expect(result.stderr).toMatch(/<stdin> document 5 \(YAML, line \d+\): /);
    expect((await keysUnder(c, prefix)).size).toBe(0);
  });

  it('says "unchanged" on re-apply and writes nothing; a changed spec is "configured"', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    expect((await fabric(c, prefix, ['apply', '-f', '-'], RULES)).code).toBe(0);
    const before = await keysUnder(c, prefix);

    const again = await fabric(c, prefix, ['apply', '-f', '-'], RULES);
    expect(again.code).toBe(0);
    expect(again.stdout.trim().split('\n')).toEqual(['service/web unchanged', 'route/web-canary unchanged', 'service/db unchanged']);
    const after = await keysUnder(c, prefix);
    for (const [key, kv] of after) expect(kv.mod_revision, key).toBe(before.get(key)!.mod_revision);

    const moved = RULES.replace('weight: 90', 'weight: 50').replace('weight: 10', 'weight: 50');
    const dryRun = await fabric(c, prefix, ['apply', '--dry-run', '-f', '-'], moved);
    expect(dryRun.stdout).toContain('route/web-canary configured (dry run): backends');
    expect((await keysUnder(c, prefix)).get('routes/web-canary')!.mod_revision).toBe(before.get('routes/web-canary')!.mod_revision);

    const applied = await fabric(c, prefix, ['apply', '-f', '-'], moved);
    expect(applied.stdout.trim().split('\n')).toEqual(['service/web unchanged', 'route/web-canary configured', 'service/db unchanged']);
    const route = JSON.parse((await keysUnder(c, prefix)).get('routes/web-canary')!.value.toString());
    expect(route.backends.map((b: { weight: number }) => b.weight)).toEqual([50, 50]);
  });

  it('takes several -f, including stdin', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const file = writeTemp(temp.path, 'svc.yaml', 'kind: Service\nname: one\n');
    const result = await fabric(c, prefix, ['apply', '-f', file, '-f', '-'], 'kind: Service\nname: two\n');
    expect(result.code).toBe(0);
    expect([...(await keysUnder(c, prefix)).keys()].sort()).toEqual(['services/one', 'services/two']);
  });

  it('writes 50 documents in one transaction: every key lands at the same revision', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const docs = Array.from({ length: 50 }, (_, i) =>
      i % 2 === 0
        ? `kind: Service\nname: svc-${i}\ndomains: [svc-${i}.example.com]`
        : `kind: Route\nname: route-${i}\nhost: r${i}.example.com\nbackends: [{service: svc-${i - 1}, weight: 100}]`,
    );
    const result = await fabric(c, prefix, ['apply', '-f', '-'], docs.join('\n---\n'));
    expect(result.code, result.stderr).toBe(0);
    const keys = await keysUnder(c, prefix);
    expect(keys.size).toBe(50);
    const revisions = new Set([...keys.values()].map((kv) => kv.mod_revision));
    expect(revisions.size).toBe(1);
  });
});

describe('the apply transaction', () => {
  it('is guarded by what was read: a spec changed by someone else after planning makes it write nothing', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const kv = c.client.namespace(`${prefix}/`);
    await kv
      .put('services/web')
      .value(JSON.stringify({ kind: 'Service', name: 'web' }))
      .exec();
    const resources = loadResources([{ name: 'rules.yaml', text: RULES }]);
    const plan = await planApply(kv, resources);
    expect(plan.map((p) => p.action)).toEqual(['configured', 'created', 'created']);

    await kv
      .put('services/web')
      .value(JSON.stringify({ kind: 'Service', name: 'web', mode: 'tcp' }))
      .exec();
    expect(await commitChanges(kv, plan)).toBeUndefined();
    const keys = await keysUnder(c, prefix);
    expect([...keys.keys()]).toEqual(['services/web']);
    expect(JSON.parse(keys.get('services/web')!.value.toString()).mode).toBe('tcp');
  });
});

describe('fabric get', { timeout: 120_000 }, () => {
  const endpoint = (overrides: Partial<Endpoint>): Endpoint => ({
    service: 'web',
    host: 'node-1',
    container: 'a'.repeat(64),
    name: 'web-1',
    address: '10.0.0.11',
    port: 8080,
    weight: 100,
    version: 'v1',
    mode: 'http',
    domains: ['web.example.org'],
    health: 'healthy',
    state: 'up',
    ...overrides,
  });

  async function seed(prefix: string): Promise<void> {
    const c = cluster();
    expect((await fabric(c, prefix, ['apply', '-f', '-'], RULES)).code).toBe(0);
    const endpoints = [
      endpoint({}),
      endpoint({ host: 'node-2', container: 'b'.repeat(64), name: 'web-2', address: '10.0.0.12', version: 'v2', weight: 10, health: 'unhealthy' }),
      endpoint({ service: 'cache', container: 'c'.repeat(64), name: 'redis', port: 6379, mode: 'tcp', domains: [], version: undefined }),
    ];
    await putAll(c, prefix, {
      ...Object.fromEntries(endpoints.map((e) => [`endpoints/${e.service}/${e.host}/${e.container}`, encodeEndpoint(e)])),
      'hosts/node-1': encodeHost({ name: 'node-1', address: '10.0.0.11', agentVersion: '0.1.0', started: '2026-01-01T00:00:00.000Z' }),
      'hosts/node-2': encodeHost({
        name: 'node-2',
        address: '10.0.0.12',
        agentVersion: '0.1.0',
        started: '2026-01-02T00:00:00.000Z',
        containers: { registered: 1, rejected: 2 },
      }),
      'vips/10.200.0.1': 'web',
    });
  }

  it('prints services (specs and label-only ones) as json, yaml and an aligned table', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    await seed(prefix);

    const json = await fabric(c, prefix, ['get', 'services', '-o', 'json']);
    expect(json.code, json.stderr).toBe(0);
    const services = JSON.parse(json.stdout);
    expect(services).toEqual([
      { name: 'cache', mode: 'tcp', domains: [], endpoints: { up: 1, total: 1 }, vip: null, source: ['labels'] },
      { name: 'db', mode: 'tcp', domains: [], endpoints: { up: 0, total: 0 }, vip: null, source: ['spec'] },
      {
        name: 'web',
        mode: 'http',
        domains: ['www.example.com', 'web.example.org'],
        endpoints: { up: 1, total: 2 },
        vip: '10.200.0.1',
        source: ['spec', 'labels'],
      },
    ]);

    const yaml = await fabric(c, prefix, ['get', 'services', '-o', 'yaml']);
    expect(parseYaml(yaml.stdout)).toEqual(services);

    const table = await fabric(c, prefix, ['get', 'services']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+MODE\s+DOMAINS\s+ENDPOINTS\s+VIP\s+SOURCE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['cache', 'db', 'web']);
    expect(table.stdout).not.toContain('\u001b['); // not a TTY: no colour
    expectAligned(lines);
  });

  it('prints endpoints, routes and hosts in every format', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    await seed(prefix);

    const endpoints = JSON.parse((await fabric(c, prefix, ['get', 'endpoints', '-o', 'json'])).stdout);
    expect(endpoints.map((e: Endpoint) => `${e.service}/${e.host}/${e.health}`)).toEqual([
      'cache/node-1/healthy',
      'web/node-1/healthy',
      'web/node-2/unhealthy',
    ]);
    const endpointTable = (await fabric(c, prefix, ['get', 'endpoints'])).stdout.trimEnd().split('\n');
    expect(endpointTable[0]).toMatch(/^SERVICE\s+HOST\s+CONTAINER\s+ADDRESS\s+VERSION\s+WEIGHT\s+HEALTH\s+STATE$/);
    expect(endpointTable[3]).toMatch(/^web\s+node-2\s+web-2\s+10\.0\.0\.12:8080\s+v2\s+10\s+unhealthy\s+up$/);
    expectAligned(endpointTable);

    const routes = parseYaml((await fabric(c, prefix, ['get', 'routes', '-o', 'yaml'])).stdout);
    expect(routes).toEqual([expect.objectContaining({ name: 'web-canary', host: 'www.example.com', path: '/' })]);
    const routeTable = (await fabric(c, prefix, ['get', 'routes'])).stdout.trimEnd().split('\n');
    expect(routeTable[1]).toMatch(/^web-canary\s+www\.example\.com\/\s+web@v1=90,web@v2=10\s+no$/);

    const hosts = JSON.parse((await fabric(c, prefix, ['get', 'hosts', '-o', 'json'])).stdout);
    expect(hosts.map((h: { name: string }) => h.name)).toEqual(['node-1', 'node-2']);
    const hostTable = (await fabric(c, prefix, ['get', 'hosts'])).stdout.trimEnd().split('\n');
    expect(hostTable[0]).toMatch(/^NAME\s+ADDRESS\s+AGENT\s+STARTED\s+REGISTERED\s+REJECTED$/);
    expect(hostTable[1]).toMatch(/^node-1\s.*\s-\s+-$/); // an older agent's record: no counts
    expect(hostTable[2]).toMatch(/^node-2\s.*\s1\s+2$/);
    expectAligned(hostTable);
  });

  it('skips an undecodable key with a warning and shows the rest', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    await seed(prefix);
    await putAll(c, prefix, { 'services/bad': '{not json' });
    const result = await fabric(c, prefix, ['get', 'services', '-o', 'json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('warning: skipped services/bad: not JSON');
    expect(JSON.parse(result.stdout).map((s: { name: string }) => s.name)).toEqual(['cache', 'db', 'web']);
  });

  it('refuses an unknown resource or output format', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    expect((await fabric(c, prefix, ['get', 'pods'])).stderr).toContain('cannot get "pods"');
    expect((await fabric(c, prefix, ['get', 'services', '-o', 'xml'])).code).not.toBe(0);
  });
});

describe('fabric delete', { timeout: 120_000 }, () => {
  it('deletes named specs, and refuses (deleting nothing) when one is missing', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    expect((await fabric(c, prefix, ['apply', '-f', '-'], RULES)).code).toBe(0);

    const missing = await fabric(c, prefix, ['delete', 'service', 'web', 'nope']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('FABRIC_ERR_NOT_FOUND: service "nope" not found; nothing deleted');
    expect((await keysUnder(c, prefix)).has('services/web')).toBe(true);

    const deleted = await fabric(c, prefix, ['delete', 'service', 'web', 'db']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout.trim().split('\n')).toEqual(['service/web deleted', 'service/db deleted']);
    const route = await fabric(c, prefix, ['delete', 'route', 'web-canary']);
    expect(route.stdout.trim()).toBe('route/web-canary deleted');
    expect((await keysUnder(c, prefix)).size).toBe(0);

    const again = await fabric(c, prefix, ['delete', 'route', 'web-canary']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('route "web-canary" not found');
  });
});

/** Every column starts at the same offset on every line as in the header. */
function expectAligned(lines: string[]): void {
  const starts = columnStarts(lines[0]!);
  for (const line of lines.slice(1)) {
    for (const start of starts.slice(1)) {
      expect(line[start - 1], `"${line}" at ${start}`).toBe(' ');
      expect(line[start], `"${line}" at ${start}`).not.toBe(' ');
    }
  }
}

function columnStarts(header: string): number[] {
  return [...header.matchAll(/\S+/g)].map((m) => m.index!);
}
