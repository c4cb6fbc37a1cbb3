// gRPC keeps working through every traffic policy on HAProxy (issue 14): a Service with `proto: h2c`
// whose static `endpoints:` is a Node h2c server answering a gRPC-shaped unary call, and a client
// speaking HTTP/2 with prior knowledge to HAProxy's cleartext frontend, one service per policy as
// the websocket test does. A redirect or maintenance answers instead. nginx cannot serve h2c
// (src/model/policy/capabilities.ts): `fabric apply` refuses such a service while an nginx target
// runs, and the nginx target's status says it serves it without.
import fs from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runFabric } from '../cli/support.js';
import { type NginxRouter, startNginxRouter } from './nginx-support.js';
import { ANSWERING_POLICIES, proxyingPolicies } from './policy-support.js';
import { listenLoopback, putRaw, useRouterSuite, waitFor } from './support.js';

const suite = useRouterSuite({ router: false });

const CALLING = proxyingPolicies('grpc');
const ANSWERING = ANSWERING_POLICIES;
/** HAProxy runs these checks itself (the router drives it): over HTTP/2, as the endpoint speaks no HTTP/1.1. */
const CHECKED: Record<string, Record<string, unknown>> = {
  checked: { healthCheck: { path: '/healthz', interval: '200ms', rise: 1, fall: 1 } },
  failing: { healthCheck: { path: '/missing', interval: '200ms', rise: 1, fall: 1 } },
};
const METHOD = '/api/echo.Echo/Say';

/** A gRPC length-prefixed message: flag 0 (not compressed), 4-byte big-endian length, the bytes. */
function grpcFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

function grpcMessage(data: Buffer): string | undefined {
  if (data.length < 5 || data[0] !== 0) return undefined;
  const length = data.readUInt32BE(1);
  return data.length === 5 + length ? data.subarray(5).toString() : undefined;
}

/** An h2c gRPC-shaped unary server: answers `<:path seen> <x-env seen> <message>` with trailers grpc-status 0. */
async function startGrpcBackend(): Promise<number> {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    // HAProxy's own health check (`check-proto h2`): a plain GET.
    if (headers[':method'] === 'GET') {
      stream.respond({ ':status': headers[':path'] === '/healthz' ? 200 : 404 });
      stream.end();
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const message = grpcMessage(Buffer.concat(chunks));
      if (headers['content-type'] !== 'application/grpc' || message === undefined) {
        stream.respond({ ':status': 415 });
        stream.end();
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(grpcFrame(`${headers[':path']} ${headers['x-env'] ?? '-'} ${message}`));
    });
    stream.on('error', () => stream.destroy());
  });
  // Sessions the proxy keeps open would hold server.close() up: closed with the server.
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  const port = await listenLoopback(suite.file, server);
  suite.file.defer(() => {
    for (const session of sessions) session.destroy();
  });
  return port;
}

type Call = { status: number; message?: string; grpcStatus?: string; contentType?: string };

/** One unary call on a fresh HTTP/2 connection (prior knowledge) to HAProxy's cleartext frontend. */
function call(host: string, pathname: string): Promise<Call> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${router.haproxyPort}`);
    const fail = (err: Error) => {
      session.destroy();
      reject(err);
    };
    session.on('error', fail);
    const req = session.request({
      ':method': 'POST',
      ':path': pathname,
      ':authority': host,
      'content-type': 'application/grpc',
      te: 'trailers',
      authorization: `Basic ${Buffer.from('alice:open-sesame').toString('base64')}`,
    });
    req.setTimeout(5_000, () => fail(new Error(`call ${host} timed out`)));
    const result: Call = { status: 0 };
    const chunks: Buffer[] = [];
    req.on('response', (headers) => {
      result.status = Number(headers[':status']);
      result.contentType = String(headers['content-type'] ?? '');
    });
    req.on('trailers', (trailers) => (result.grpcStatus = String(trailers['grpc-status'])));
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      session.close();
      const message = grpcMessage(Buffer.concat(chunks));
      resolve(result.status === 200 ? { ...result, ...(message !== undefined ? { message } : {}) } : { status: result.status });
    });
    req.on('error', fail);
    req.end(grpcFrame('hello'));
  });
}

let router: NginxRouter;

beforeAll(async () => {
  router = await startNginxRouter(suite.file, suite.etcd, { haproxy: true, lbOnExit: 'stop' });
  fs.chmodSync(path.dirname(router.dir), 0o711);
  const port = await startGrpcBackend();
  const specs = { ...CALLING, ...CHECKED, ...Object.fromEntries(Object.entries(ANSWERING).map(([name, [spec]]) => [name, spec])) };
  let revision = 0;
  for (const [name, policy] of Object.entries(specs)) {
    const spec = { kind: 'Service', name: `g-${name}`, proto: 'h2c', domains: [`${name}.grpc.test`], endpoints: [{ address: '127.0.0.1', port }], ...policy };
    // Written as a router reads it: `fabric apply` would refuse it while the nginx target runs (below).
    revision = await putRaw(suite.client, `services/g-${name}`, JSON.stringify(spec));
  }
  await router.waitApplied(revision);
});

describe('gRPC (h2c) through every policy, HAProxy', { timeout: 120_000 }, () => {
  it('a unary call gets its message and grpc-status 0 with each policy set; a redirect or maintenance answers instead', async () => {
    const seen: Record<string, string> = { strip: '/echo.Echo/Say', add: `/v1${METHOD}` };
    for (const name of Object.keys(CALLING)) {
      const env = name === 'headers' ? 'grpc' : '-';
      const expected = { name, status: 200, contentType: 'application/grpc', grpcStatus: '0', message: `${seen[name] ?? METHOD} ${env} hello` };
      let last: Call | undefined;
      await waitFor(async () => (last = await call(`${name}.grpc.test`, METHOD)).status === 200, {
        timeoutMs: 15_000,
        what: `${name} answers a call (last: ${JSON.stringify(last)})`,
      });
      expect({ name, ...(await call(`${name}.grpc.test`, METHOD)) }).toEqual(expected);
    }
    for (const [name, [, status]] of Object.entries(ANSWERING)) {
      expect({ name, ...(await call(`${name}.grpc.test`, METHOD)) }).toEqual({ name, status });
    }
  });

  it("HAProxy's own HTTP check speaks h2 to an h2c endpoint: a good path keeps it serving, a 404 takes it out", async () => {
    let last: Call | undefined;
    await waitFor(async () => (last = await call('failing.grpc.test', METHOD)).status === 503, {
      timeoutMs: 15_000,
      what: `failing check takes the endpoint out (last: ${JSON.stringify(last)})`,
    });
    // The same check ran as long for the good path: still serving.
    expect(await call('checked.grpc.test', METHOD)).toEqual({ status: 200, contentType: 'application/grpc', grpcStatus: '0', message: `${METHOD} - hello` });
    const config = fs.readFileSync(path.join(path.dirname(router.dir), 'haproxy/haproxy.cfg'), 'utf8');
    expect(config).toMatch(/server s1 127\.0\.0\.1:\d+ weight \d+ proto h2 check-proto h2\n/);
  });

  it('fabric apply refuses an h2c service while an nginx target runs; the nginx target says it serves them without', async () => {
    const refused = await runFabric(['apply', '-f', '-', '--etcd', suite.etcd.endpoint], {
      input: 'kind: Service\nname: g-new\nproto: h2c\nendpoints: [{address: 127.0.0.1, port: 9}]\n',
    });
    expect(refused.code, refused.stdout + refused.stderr).not.toBe(0);
    expect(refused.stderr).toContain('<stdin> document 1 (Service g-new, line 1): proto: not supported by nginx targets');
    expect(refused.stderr).toMatch(/target nginx \(nginx\) of router \S+ serves this service and cannot apply it/);
    const status = await router.status();
    const nginx = status.targets.find((t: { name: string }) => t.name === 'nginx');
    const haproxy = status.targets.find((t: { name: string }) => t.name === 'haproxy');
    expect(nginx.limitations).toEqual(expect.arrayContaining([expect.stringMatching(/^service g-plain: proto is not supported by nginx targets/)]));
    expect((haproxy.limitations ?? []).filter((line: string) => line.includes('proto'))).toEqual([]);
  });
});
