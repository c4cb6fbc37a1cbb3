// `fabric apply` and traffic policies: bad values and a policy a
// running router's target cannot apply are refused with document, field and reason; nothing is written.
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../harness/index.js';
import { fabric, keysUnder, putAll, useCluster, writeTemp } from './support.js';

const cluster = useCluster();
const temp = makeTempDir('fabric-cli-policies-');
afterAll(() => temp.remove());

const BAD = `
kind: Service
name: bad-redirect
redirect: {host: "evil.example.com/x", code: 301}
---
kind: Service
name: bad-prefix
stripPrefix: "/api\\r\\nX-Injected: 1"
---
kind: Service
name: too-many-retries
retries: 9
---
kind: Service
name: bad-code
redirect: {scheme: https, code: 200}
---
kind: Service
name: bad-header
headers: {request: {X-Env: "prod\\r\\nX-Injected: 1"}}
`;

describe('fabric apply with traffic policies', { timeout: 120_000 }, () => {
  it('refuses bad values: every document, field and reason; nothing written', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const file = writeTemp(temp.path, 'bad.yaml', BAD);
    const result = await fabric(c, prefix, ['apply', '-f', file]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('5 invalid documents, nothing applied');
    expect(result.stderr).toMatch(/bad\.yaml document 1 \(Service bad-redirect, line 4\): redirect\.host: is not a host for a URL/);
    expect(result.stderr).toMatch(/bad\.yaml document 2 \(Service bad-prefix, line 8\): stripPrefix: must start with "\/"/);
    expect(result.stderr).toMatch(/bad\.yaml document 3 \(Service too-many-retries, line 12\): retries: must be 0 to 5/);
    expect(result.stderr).toMatch(/bad\.yaml document 4 \(Service bad-code, line 16\): redirect\.code: must be one of 301, 302, 307, 308/);
    expect(result.stderr).toMatch(/bad\.yaml document 5 \(Service bad-header, line 20\): headers\.request\.X-Env: must not contain control characters/);
    expect((await keysUnder(c, prefix)).size).toBe(0);
  });

  it('applies policies the running routers can apply, and refuses one a target cannot, naming router and target', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    // What a running router publishes at status/routers/<id> (lb/status-publisher.ts), targets and kinds.
    const status = (routerId: string, targets: Array<[string, string]>) =>
      JSON.stringify({ routerId, state: 'running', targets: targets.map(([name, kind]) => ({ name, kind, state: 'applied' })) });
    await putAll(c, prefix, {
      'status/routers/r1': status('r1', [
        ['haproxy-0', 'haproxy'],
        ['nginx', 'nginx'],
      ]),
    });
    const spec = 'kind: Service\nname: api\nstripPrefix: /api\nredirect: {scheme: https}\n';
    const ok = await fabric(c, prefix, ['apply', '-f', '-'], spec);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    await putAll(c, prefix, { 'status/routers/r2': status('r2', [['conf', 'file']]) });
    const changed = 'kind: Service\nname: api\nstripPrefix: /v2\n';
    const refused = await fabric(c, prefix, ['apply', '-f', '-'], changed);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('1 invalid document, nothing applied');
    expect(refused.stderr).toContain(
      '<stdin> document 1 (Service api, line 1): stripPrefix: not supported by file targets: target conf (file) of router r2 serves this service and cannot apply it',
    );
    const stored = (await keysUnder(c, prefix)).get('services/api');
    expect(JSON.parse(stored!.value.toString()).stripPrefix).toBe('/api');
  });
});
