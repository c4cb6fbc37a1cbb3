// listPrefix: a snapshot of any size, at one revision, through the namespace (real etcd).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdServer, startEtcd } from '../../test/harness/index.js';
import { connectEtcd, type EtcdConnection, listPrefix } from '../etcd.js';

let etcd: EtcdServer;
let conn: EtcdConnection;

beforeAll(async () => {
  etcd = await startEtcd();
  conn = connectEtcd({ endpoints: [etcd.endpoint], prefix: '/fabric' });
});
afterAll(async () => {
  conn?.close();
  await etcd?.stop();
});

describe('listPrefix', () => {
  it('reads more than gRPC’s 4 MiB in pages, at one revision, relative to the namespace', async () => {
    const value = 'x'.repeat(2_000);
    const keys = Array.from({ length: 3_000 }, (_, i) => `endpoints/svc/h/${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 100) {
      await conn.kv
        .if('hosts/none', 'Version', '>', -1)
        .then(...keys.slice(i, i + 100).map((k) => conn.kv.put(k).value(value)))
        .commit();
    }
    await conn.client.put('/outside/namespace').value('no').exec();
    await conn.kv.put('hosts/h').value('{}').exec();

    const all = await listPrefix(conn.kv, '', 700);
    expect(all.kvs).toHaveLength(keys.length + 1);
    expect(all.kvs.length * value.length).toBeGreaterThan(4 * 1024 * 1024);
    expect(all.kvs[0]!.key.toString()).toBe(keys[0]);

    const endpoints = await listPrefix(conn.kv, 'endpoints/', 1_000);
    expect(endpoints.kvs.map((kv) => kv.key.toString())).toEqual(keys);
    expect(endpoints.revision).toBe(all.revision);
  });

  it('reads 6 MB in default pages (5,000 keys) within the connection’s message limit', async () => {
    const all = await listPrefix(conn.kv, 'endpoints/');
    expect(all.kvs.map((item) => item.key.toString())).toEqual(Array.from({ length: 3_000 }, (_, i) => `endpoints/svc/h/${String(i).padStart(5, '0')}`));
  });

  it('pins later pages to the first page’s revision while writes go on', async () => {
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing && i < 500; i++) await conn.kv.put(`endpoints/svc/h/late-${i}`).value('late').exec();
    })();
    const paged = await listPrefix(conn.kv, 'endpoints/', 50);
    writing = false;
    await writer;
    // Nothing written after the snapshot's revision may appear in it, and nothing before may be missing.
    for (const kv of paged.kvs) expect(Number(kv.mod_revision)).toBeLessThanOrEqual(paged.revision);
    const atRevision = await conn.kv.getAll().prefix('endpoints/').revision(paged.revision).keys();
    expect(paged.kvs.map((kv) => kv.key.toString())).toEqual(atRevision);
  });
});
