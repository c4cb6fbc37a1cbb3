// Issue 10 §3: `fabric apply` of files larger than one etcd transaction. etcd allows 128 operations
// (--max-txn-ops) and 1.5 MiB (--max-request-bytes) per request and checks them only when the
// request arrives; fabric checks them first, refuses a file over them whole (and so does
// --dry-run), or with --chunked writes it in transactions that each fit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadResources } from '../../src/ctl/documents.js';
import { encodeSpec, specKey } from '../../src/ctl/specs.js';
import { writeBytes } from '../../src/ctl/txn-limits.js';
import { type EtcdServer, makeTempDir, startEtcd } from '../harness/index.js';
import { type Cluster, fabric, runFabric, useCluster, writeTemp } from './support.js';

const cluster = useCluster();
const temp = makeTempDir('fabric-cli-limits-');
afterAll(() => temp.remove());

/** `count` Services, one per document. */
function services(count: number, from = 0): string {
  const parts: string[] = [];
  for (let i = from; i < from + count; i++) parts.push(`kind: Service\nname: s${i}\n`);
  return parts.join('---\n');
}

/** A Service of about 13 KiB: 64 domains of 200 characters. */
function bulkyService(i: number): string {
  const label = (ch: string) => ch.repeat(59);
  const domains = Array.from({ length: 64 }, (_, j) => `${label('a')}.${label('b')}.${label('c')}.d${i}x${j}.example.com`);
  return `kind: Service\nname: bulky${i}\ndomains: [${domains.join(', ')}]\n`;
}

async function count(c: Cluster, prefix: string): Promise<number> {
  return c.client.namespace(`${prefix}/`).getAll().prefix('services/').count();
}

describe('fabric apply: files over the transaction limits', { timeout: 240_000 }, () => {
  it('refuses 100k documents up front, whole, with the numbers and what to do; --dry-run says the same', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const file = writeTemp(temp.path, 'huge.yaml', services(100_000));
    const started = Date.now();
    const real = await fabric(c, prefix, ['apply', '-f', file]);
    const elapsed = Date.now() - started;
    expect(real.code).toBe(1);
    expect(real.stdout).toBe('');
    expect(real.stderr).toMatch(
      /^fabric: FABRIC_ERR_TOO_LARGE: 100000 changes do not fit in one etcd transaction \(more than etcd's --max-txn-ops \(128\); [\d.]+ MiB, more than etcd's --max-request-bytes \(1\.5 MiB\)\); nothing applied\./,
    );
    expect(real.stderr).toContain('--chunked in 782 transactions (not all or nothing)');
    expect(real.stderr).not.toMatch(/Maximum call stack|RESOURCE_EXHAUSTED/);
    expect(await count(c, prefix)).toBe(0);
    expect(elapsed).toBeLessThan(30_000);

    const dry = await fabric(c, prefix, ['apply', '-f', file, '--dry-run']);
    expect(dry).toEqual(real);
  });

  it('refuses 129 changes by default, exactly as etcd would, and --dry-run agrees', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const fits = writeTemp(temp.path, 'fits.yaml', services(128));
    expect((await fabric(c, prefix, ['apply', '-f', fits, '--dry-run'])).code).toBe(0);
    const over = writeTemp(temp.path, 'over.yaml', services(129));
    for (const args of [
      ['apply', '-f', over, '--dry-run'],
      ['apply', '-f', over],
    ]) {
      const result = await fabric(c, prefix, args);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/FABRIC_ERR_TOO_LARGE: 129 changes do not fit .*--max-txn-ops \(128\)\); nothing applied/);
    }
    expect(await count(c, prefix)).toBe(0);
    const applied = await fabric(c, prefix, ['apply', '-f', fits]);
    expect(applied.code).toBe(0);
    expect(await count(c, prefix)).toBe(128);
  });

  it('refuses a file over 1.5 MiB in fewer than 128 changes, naming --max-request-bytes', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const file = writeTemp(temp.path, 'bulky.yaml', Array.from({ length: 127 }, (_, i) => bulkyService(i)).join('---\n'));
    const result = await fabric(c, prefix, ['apply', '-f', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/127 changes do not fit in one etcd transaction \([\d.]+ MiB, more than etcd's --max-request-bytes \(1\.5 MiB\)\)/);
    expect(await count(c, prefix)).toBe(0);

    const chunked = await fabric(c, prefix, ['apply', '-f', file, '--chunked']);
    expect(chunked.code).toBe(0);
    expect(chunked.stderr).toContain('chunk 2/2:');
    expect(await count(c, prefix)).toBe(127);
  });

  it('--chunked applies 100k documents in bounded transactions, with progress; again, nothing changes', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const file = writeTemp(temp.path, 'huge-chunked.yaml', services(100_000));
    const dry = await fabric(c, prefix, ['apply', '-f', file, '--chunked', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toBe('would write the changes in 782 transactions (--chunked: each all or nothing, the whole not)');
    expect(await count(c, prefix)).toBe(0);

    const started = Date.now();
    const result = await fabric(c, prefix, ['apply', '-f', file, '--chunked']);
    const elapsed = Date.now() - started;
    expect(result.code, result.stderr.slice(-2_000)).toBe(0);
    const progress = result.stderr.split('\n');
    expect(progress).toHaveLength(783);
    expect(progress[0]).toMatch(/^chunk 1\/782: 128 changes written \(revision \d+\)$/);
    expect(progress[781]).toMatch(/^chunk 782\/782: 32 changes written \(revision \d+\)$/);
    expect(progress[782]).toBe('wrote the changes in 782 transactions (--chunked: each all or nothing, the whole not)');
    expect(result.stdout.split('\n')).toHaveLength(100_000);
    expect(await count(c, prefix)).toBe(100_000);
    expect(elapsed).toBeLessThan(90_000);

    const again = await fabric(c, prefix, ['apply', '-f', file, '--chunked']);
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
    expect(again.stdout.split('\n').every((line) => line.endsWith(' unchanged'))).toBe(true);
  });

  it('does not overflow the stack on 167k documents', async () => {
    const c = cluster();
    const prefix = c.newPrefix();
    const file = writeTemp(temp.path, 'huger.yaml', services(167_000));
    const result = await fabric(c, prefix, ['apply', '-f', file, '--dry-run', '--chunked']);
    expect(result.stderr).not.toMatch(/Maximum call stack/);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('would write the changes in 1305 transactions (--chunked: each all or nothing, the whole not)');
  });
});

describe('fabric apply: a cluster with other limits', { timeout: 120_000 }, () => {
  let etcd: EtcdServer;
  const REQUEST_BYTES = 64 * 1024;
  beforeAll(async () => {
    etcd = await startEtcd({ extraArgs: ['--max-txn-ops=300', `--max-request-bytes=${REQUEST_BYTES}`] });
  });
  afterAll(async () => etcd?.stop());

  const apply = (file: string, prefix: string, extra: string[] = []) =>
    runFabric(['apply', '-f', file, '--etcd', etcd.endpoint, '--etcd-prefix', prefix, ...extra]);

  it('--max-txn-ops raises the number of changes in one transaction to what the cluster allows', async () => {
    const file = writeTemp(temp.path, 'three-hundred.yaml', services(300));
    expect((await apply(file, '/ops-default')).stderr).toMatch(/300 changes do not fit/);
    const raised = await apply(file, '/ops-raised', ['--max-txn-ops', '300']);
    expect(raised.stderr).toBe('');
    expect(raised.code).toBe(0);
  });

  it("a limit set higher than the cluster's is caught by etcd and explained", async () => {
    const file = writeTemp(temp.path, 'three-hundred-one.yaml', services(301));
    const result = await apply(file, '/ops-too-high', ['--max-txn-ops', '400']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/FABRIC_ERR_TOO_LARGE: etcd refused 301 operations in one transaction: its --max-txn-ops is lower/);
  });

  it('measures a request as etcd does: the largest file that fits by its count is accepted by etcd', async () => {
    // Add documents while fabric's own measure says they fit: etcd must accept that file, and the
    // next document must be refused by fabric before anything is sent.
    // Each write is about 300 bytes: the byte limit comes before the 300 operations.
    const docs: string[] = [];
    let next = '';
    let bytes = 512;
    for (let i = 0; ; i++) {
      next = `kind: Service\nname: e${i}\ndomains: [e${i}.${'x'.repeat(59)}.${'y'.repeat(59)}.${'z'.repeat(59)}.example.com]\n`;
      const [resource] = loadResources([{ name: 'one', text: next }]);
      const size = writeBytes({ key: specKey(resource!.kind, resource!.name), value: encodeSpec(resource!.spec), modRevision: '0' }, '/bytes-edge/');
      if (bytes + size > REQUEST_BYTES) break;
      bytes += size;
      docs.push(next);
    }
    expect(docs.length).toBeLessThan(300);
    expect(bytes).toBeGreaterThan(REQUEST_BYTES - 400);
    const limit = ['--max-txn-ops', '300', '--max-request-bytes', String(REQUEST_BYTES)];
    const edge = writeTemp(temp.path, 'edge.yaml', docs.join('---\n'));
    const accepted = await apply(edge, '/bytes-edge', limit);
    expect(accepted.stderr).toBe('');
    expect(accepted.code).toBe(0);

    const over = writeTemp(temp.path, 'edge-over.yaml', [...docs, next].join('---\n'));
    const refused = await apply(over, '/bytes-over', limit); // as long a prefix: the same measure
    expect(refused.stderr).toMatch(
      /FABRIC_ERR_TOO_LARGE: \d+ changes do not fit in one etcd transaction \([\d.]+ KiB, more than etcd's --max-request-bytes \(64 KiB\)\)/,
    );
  });
});
