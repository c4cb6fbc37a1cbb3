// `fabric apply` and rateLimit / retries: bad values (a zero or negative rate, a period out of bounds,
// retries 9), on a Service or a Route (the same grammar), are refused with document, field and
// reason; nothing is written. Good values are stored as given.
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../harness/index.js';
import { fabric, keysUnder, useCluster, writeTemp } from './support.js';

const cluster = useCluster();
const temp = makeTempDir('fabric-cli-policy-flow-');
afterAll(() => temp.remove());

const BAD = `
kind: Service
name: negative
rateLimit: {requests: -5, per: 10s}
---
kind: Service
name: too-fast
rateLimit: {requests: 10, per: 100ms}
---
kind: Service
name: nine
retries: 9
---
kind: Route
name: canary
host: canary.example.com
backends: [{service: api, weight: 90}, {service: api-next, weight: 10}]
rateLimit: {requests: 0, per: 1s}
headers: {request: {X-Env: "a\\r\\nX-Injected: 1"}}
`;

describe('fabric apply with rateLimit and retries', { timeout: 120_000 }, () => {
  it("refuses a negative rate, a period below 1s, retries 9 and a Route's zero rate and CR/LF header: document, field, reason; nothing written", async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const file = writeTemp(temp.path, 'bad.yaml', BAD);
    const result = await fabric(c, prefix, ['apply', '-f', file]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('4 invalid documents, nothing applied');
    expect(result.stderr).toMatch(
      /bad\.yaml document 1 \(Service negative, line 4\): rateLimit\.requests: must be at least 1 \(a zero or negative rate is refused\)/,
    );
    expect(result.stderr).toMatch(/bad\.yaml document 2 \(Service too-fast, line 8\): rateLimit\.per: "100ms" is not a duration between 1s and 1h/);
    expect(result.stderr).toMatch(/bad\.yaml document 3 \(Service nine, line 12\): retries: must be 0 to 5/);
    expect(result.stderr).toMatch(
      /bad\.yaml document 4 \(Route canary, line 18\): rateLimit\.requests: must be at least 1 \(a zero or negative rate is refused\)/,
    );
    expect(result.stderr).toMatch(/bad\.yaml document 4 \(Route canary, line 19\): headers\.request\.X-Env: /);
    expect((await keysUnder(c, prefix)).size).toBe(0);
  });

  it('stores good values (the period in milliseconds, as durations are)', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const ok = await fabric(c, prefix, ['apply', '-f', '-'], 'kind: Service\nname: api\nrateLimit: {requests: 100, per: 10s}\nretries: 2\n');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const stored = JSON.parse((await keysUnder(c, prefix)).get('services/api')!.value.toString());
    expect({ rateLimit: stored.rateLimit, retries: stored.retries }).toEqual({ rateLimit: { requests: 100, per: 10_000 }, retries: 2 });
  });
});
