// `fabric apply` and the access-control and body policies (basicAuth, allow, deny, maxBodySize): bad
// CIDRs, plaintext passwords, weak hashes and a too-big body size are refused with document, field and reason, the hash never echoed;
// nothing is written.
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../harness/index.js';
import { fabric, keysUnder, putAll, useCluster, writeTemp } from './support.js';

const cluster = useCluster();
const temp = makeTempDir('fabric-cli-access-');
afterAll(() => temp.remove());

const BCRYPT = '$2y$05$abcdefghijklmnopqrstuutXu9KzOt.1yBoZUeFWoT/914/JfszCO';

const BAD = `
kind: Service
name: bad-cidr
allow: [10.0.0.0/33]
---
kind: Service
name: host-bits
deny: [10.1.2.3/8]
---
kind: Service
name: plaintext
basicAuth: {realm: ops, users: ["alice:hunter2"]}
---
kind: Service
name: md5
basicAuth: {realm: ops, users: ["bob:$apr1$abcdefgh$0123456789abcdefghijkl"]}
---
kind: Service
name: sha1
basicAuth: {realm: ops, users: ["carol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="]}
---
kind: Service
name: bad-realm
basicAuth: {realm: "ops\\" x", users: ["dave:${BCRYPT}"]}
---
kind: Service
name: bad-v6
allow: ["fd00::zz/8"]
---
kind: Service
name: huge-body
maxBodySize: 2048m
---
kind: Service
name: bad-page
errorPages: {200: "<h1>fine</h1>"}
`;

describe('fabric apply with access-control policies', { timeout: 120_000 }, () => {
  it('refuses bad CIDRs, plaintext passwords, weak hashes, a too-big body size and an error page for a status not allowed: every document, field and reason; nothing written', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const file = writeTemp(temp.path, 'bad.yaml', BAD);
    const result = await fabric(c, prefix, ['apply', '-f', file]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('9 invalid documents, nothing applied');
    expect(result.stderr).toMatch(/bad\.yaml document 1 \(Service bad-cidr, line 4\): allow\.0: is not a CIDR/);
    expect(result.stderr).toMatch(/bad\.yaml document 2 \(Service host-bits, line 8\): deny\.0: has host bits set: the network is 10\.0\.0\.0\/8/);
    expect(result.stderr).toMatch(
      /bad\.yaml document 3 \(Service plaintext, line 12\): basicAuth\.users\.0: password of user alice looks like a plaintext password: refused/,
    );
    expect(result.stderr).toMatch(/bad\.yaml document 4 \(Service md5, line 16\): basicAuth\.users\.0: password of user bob is an MD5 hash: refused/);
    expect(result.stderr).toMatch(/bad\.yaml document 5 \(Service sha1, line 20\): basicAuth\.users\.0: password of user carol is a SHA1 hash: refused/);
    expect(result.stderr).toMatch(/bad\.yaml document 6 \(Service bad-realm, line 24\): basicAuth\.realm: must be 1-64 characters/);
    expect(result.stderr).toMatch(/bad\.yaml document 7 \(Service bad-v6, line 28\): allow\.0: is not a CIDR/);
    expect(result.stderr).toMatch(/bad\.yaml document 8 \(Service huge-body, line 32\): maxBodySize: must be at most 1024m/);
    expect(result.stderr).toMatch(
      /bad\.yaml document 9 \(Service bad-page, line 36\): errorPages\.200: is not a status the proxy answers for a service: one of 502, 503, 504/,
    );
    // Neither a password nor a hash is ever repeated back.
    expect(result.stderr).not.toContain('hunter2');
    expect(result.stderr).not.toContain('$apr1$');
    expect((await keysUnder(c, prefix)).size).toBe(0);
  });

  it('applies good access policies, CIDRs as their network', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const spec = `kind: Service\nname: ops\nbasicAuth: {realm: ops, users: ["alice:${BCRYPT}"]}\nallow: [10.0.0.0/8, "FD00::/8"]\ndeny: [10.1.0.0/16]\n`;
    const ok = await fabric(c, prefix, ['apply', '-f', '-'], spec);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const stored = JSON.parse((await keysUnder(c, prefix)).get('services/ops')!.value.toString());
    expect(stored.allow).toEqual(['10.0.0.0/8', 'fd00::/8']);
    expect(stored.basicAuth.users).toEqual([`alice:${BCRYPT}`]);
  });

  it('refuses each new policy for a running target that cannot apply it, naming router and target', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const status = JSON.stringify({ routerId: 'r1', state: 'running', targets: [{ name: 'conf', kind: 'file', state: 'applied' }] });
    await putAll(c, prefix, { 'status/routers/r1': status });
    const spec = `kind: Service\nname: ops\nbasicAuth: {realm: ops, users: ["alice:${BCRYPT}"]}\nallow: [10.0.0.0/8]\nmaxBodySize: 1m\nerrorPages: {503: "<h1>down</h1>"}\n`;
    const refused = await fabric(c, prefix, ['apply', '-f', '-'], spec);
    expect(refused.code).not.toBe(0);
    for (const policy of ['basicAuth', 'allow', 'maxBodySize', 'errorPages']) {
      expect(refused.stderr).toContain(
        `<stdin> document 1 (Service ops, line 1): ${policy}: not supported by file targets: target conf (file) of router r1 serves this service and cannot apply it`,
      );
    }
    expect((await keysUnder(c, prefix)).has('services/ops')).toBe(false);
  });
});
