// Websockets keep working through every traffic policy (issue 14): a backend that completes an
// HTTP/1.1 `Upgrade: websocket` handshake, registered as a Service's static `endpoints:`, and a
// client that upgrades and exchanges one WebSocket frame each way through a real HAProxy and a
// real nginx, one service per policy. A redirect or maintenance answers instead, as for any request.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type NginxRouter, startNginxRouter } from './nginx-support.js';
import { ANSWERING_POLICIES, proxyingPolicies, TARGETS, type Target } from './policy-support.js';
import { listenLoopback, putRaw, useRouterSuite, waitFor } from './support.js';

const suite = useRouterSuite({ router: false });
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const UPGRADING = proxyingPolicies('ws');
const ANSWERING = ANSWERING_POLICIES;

/** One WebSocket frame (FIN, opcode 1 text); a client's is masked (RFC 6455 5.3). */
function frame(text: string, masked: boolean): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new Error('short frames only');
  const mask = masked ? randomBytes(4) : Buffer.alloc(0);
  const body = masked ? payload.map((b, i) => b ^ mask[i % 4]!) : payload;
  return Buffer.concat([Buffer.from([0x81, (masked ? 0x80 : 0) | payload.length]), mask, body]);
}

/** The text of the one complete frame in `data`, or undefined while it is incomplete. */
function unframe(data: Buffer): string | undefined {
  if (data.length < 2) return undefined;
  const masked = (data[1]! & 0x80) !== 0;
  const length = data[1]! & 0x7f;
  const start = 2 + (masked ? 4 : 0);
  if (data.length < start + length) return undefined;
  const mask = data.subarray(2, 6);
  const payload = data.subarray(start, start + length);
  return Buffer.from(masked ? payload.map((b, i) => b ^ mask[i % 4]!) : payload).toString();
}

const accept = (key: string) =>
  createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');

/** A WebSocket echo server: answers each text frame with `<path seen> <X-Env seen> <text>`. */
async function startWsBackend(): Promise<number> {
  const server = http.createServer((_req, reply) => reply.end('not an upgrade'));
  // Upgraded sockets are the server's no more: closed here, or server.close() waits for the proxies' idle tunnels.
  const tunnels = new Set<net.Socket>();
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    tunnels.add(socket);
    socket.on('close', () => tunnels.delete(socket));
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept(String(req.headers['sec-websocket-key']))}\r\n\r\n`,
    );
    let data = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const text = unframe(data);
      if (text !== undefined) socket.write(frame(`${req.url} ${req.headers['x-env'] ?? '-'} ${text}`, false));
    });
    socket.on('error', () => socket.destroy());
  });
  const port = await listenLoopback(suite.file, server);
  suite.file.defer(() => {
    for (const socket of tunnels) socket.destroy();
  });
  return port;
}

type Upgrade = { status: 101; reply: string } | { status: number };

/** Upgrades on a fresh connection and exchanges one frame; a non-101 answer is returned as its status. */
function upgrade(target: Target, host: string, pathname: string): Promise<Upgrade> {
  const port = target === 'haproxy' ? router.haproxyPort! : router.nginxPort;
  const key = randomBytes(16).toString('base64');
  const headers = {
    host,
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-key': key,
    'sec-websocket-version': '13',
    authorization: `Basic ${Buffer.from('alice:open-sesame').toString('base64')}`,
  };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathname, headers, agent: false });
    req.setTimeout(5_000, () => req.destroy(new Error(`upgrade ${host} timed out`)));
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on('upgrade', (res, socket: net.Socket, head: Buffer) => {
      if (res.headers['sec-websocket-accept'] !== accept(key)) reject(new Error('bad Sec-WebSocket-Accept'));
      let data = head;
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        const text = unframe(data);
        if (text !== undefined) {
          socket.destroy();
          resolve({ status: 101, reply: text });
        }
      });
      socket.on('error', reject);
      socket.write(frame('hello', true));
    });
    req.on('error', reject);
    req.end();
  });
}

let router: NginxRouter;

beforeAll(async () => {
  router = await startNginxRouter(suite.file, suite.etcd, { haproxy: true, lbOnExit: 'stop' });
  fs.chmodSync(path.dirname(router.dir), 0o711);
  const port = await startWsBackend();
  const specs = { ...UPGRADING, ...Object.fromEntries(Object.entries(ANSWERING).map(([name, [spec]]) => [name, spec])) };
  let revision = 0;
  for (const [name, policy] of Object.entries(specs)) {
    const spec = { kind: 'Service', name: `ws-${name}`, domains: [`${name}.ws.test`], endpoints: [{ address: '127.0.0.1', port }], ...policy };
    revision = await putRaw(suite.client, `services/ws-${name}`, JSON.stringify(spec));
  }
  await router.waitApplied(revision);
});

describe('websockets through every policy, HAProxy and nginx', { timeout: 120_000 }, () => {
  it('upgrades and exchanges a frame each way with each policy set; a redirect or maintenance answers instead', async () => {
    const seen: Record<string, string> = { strip: '/x', add: '/v1/api/x', headers: '/api/x' };
    for (const target of TARGETS) {
      for (const name of Object.keys(UPGRADING)) {
        const env = name === 'headers' ? 'ws' : '-';
        const expected = { target, name, status: 101, reply: `${seen[name] ?? '/api/x'} ${env} hello` };
        let last: Upgrade | undefined;
        await waitFor(async () => (last = await upgrade(target, `${name}.ws.test`, '/api/x')).status === 101, {
          timeoutMs: 15_000,
          what: `${target}: ${name} upgrades (last: ${JSON.stringify(last)})`,
        });
        expect({ target, name, ...(await upgrade(target, `${name}.ws.test`, '/api/x')) }).toEqual(expected);
      }
      for (const [name, [, status]] of Object.entries(ANSWERING)) {
        expect({ target, name, ...(await upgrade(target, `${name}.ws.test`, '/api/x')) }).toEqual({ target, name, status });
      }
    }
  });
});
