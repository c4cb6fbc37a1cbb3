// The agent's lease, lost for real: a real etcd behind a proxy the test cuts for longer than 2×TTL,
// so the etcd3 client gives the lease up. What the agent says about it must read as one sentence.
import { EtcdLeaseInvalidError } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEtcd, type EtcdConnection } from '../../src/etcd.js';
import { describeLeaseLoss } from '../../src/etcd-errors.js';
import { createLogger } from '../../src/log.js';
import { CuttableProxy, type EtcdServer, startEtcd, waitFor } from '../../test/harness/index.js';
import { HostRegistry } from '../registry.js';

let etcd: EtcdServer;
let proxy: CuttableProxy;
let conn: EtcdConnection;

beforeAll(async () => {
  etcd = await startEtcd();
  proxy = await CuttableProxy.start({ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: etcd.clientPort });
  conn = connectEtcd({ endpoints: [`http://127.0.0.1:${proxy.port}`], prefix: '/fabric', callTimeoutMs: 1_000 });
});
afterAll(async () => {
  conn?.close();
  await proxy?.close();
  await etcd?.stop();
});

describe('HostRegistry: a lost lease', () => {
  it('says which lease and why, in one sentence, when etcd was away for over 2×TTL', { timeout: 30_000 }, async () => {
    const registry = new HostRegistry(conn.kv, 'h1', 2, createLogger('silent', 'agent'), { endpoints: [`http://127.0.0.1:${proxy.port}`], prefix: '/fabric' });
    const reasons: string[] = [];
    registry.on('lost', (reason) => reasons.push(reason));
    const id = await registry.ensureLease();
    proxy.cut();
    try {
      await waitFor(() => reasons.length > 0, { timeoutMs: 15_000, what: 'the lease reported lost' });
    } finally {
      proxy.restore();
    }
    expect(reasons).toEqual([`lease ${id} expired: no keepalive reached etcd for 4s (2×TTL)`]);
    expect(registry.state).toBe('lost');
    await registry.close(true);
  });
});

describe('describeLeaseLoss', () => {
  it('reads etcd3’s two uses of one error class as sentences', () => {
    expect(describeLeaseLoss('42', new EtcdLeaseInvalidError('We lost connection to etcd and our lease has expired.'), 15)).toBe(
      'lease 42 expired: no keepalive reached etcd for 30s (2×TTL)',
    );
    expect(describeLeaseLoss('42', new EtcdLeaseInvalidError('42'), 15)).toBe('lease 42 is expired or revoked: etcd no longer knows it');
    expect(describeLeaseLoss(undefined, new Error('boom'), 15)).toBe('the lease was lost: boom');
  });
});
