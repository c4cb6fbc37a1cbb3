// What the policy tests through a real HAProxy and nginx share: a client request to either
// target (from a chosen loopback address, with credentials or headers) and an echo backend.
import http from 'node:http';
import type { NginxRouter } from './nginx-support.js';
import { type HttpResult, listenLoopback, type Resources } from './support.js';

export type Target = 'haproxy' | 'nginx';
export const TARGETS: Target[] = ['haproxy', 'nginx'];

export interface Client {
  path?: string;
  /** The client socket's address (127.0.0.1 unless told). */
  from?: string;
  headers?: Record<string, string>;
  /** user:password for Basic auth. */
  auth?: string;
  /** A POST of this body; `chunked`: without Content-Length. */
  body?: { bytes: number; chunked?: boolean };
}

/** One GET (a POST with `client.body`) to a router's HAProxy or nginx, on a fresh connection. */
export function requestTarget(router: NginxRouter, target: Target, host: string, client: Client = {}): Promise<HttpResult> {
  const port = target === 'haproxy' ? router.haproxyPort! : router.nginxPort;
  const headers: Record<string, string> = { host, ...client.headers };
  if (client.auth) headers.authorization = `Basic ${Buffer.from(client.auth).toString('base64')}`;
  const body = client.body ? Buffer.alloc(client.body.bytes, 'x') : undefined;
  if (body) headers[client.body?.chunked ? 'transfer-encoding' : 'content-length'] = client.body?.chunked ? 'chunked' : String(body.length);
  const method = body ? 'POST' : 'GET';
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, method, path: client.path ?? '/', headers, agent: false, localAddress: client.from ?? '127.0.0.1' };
    const req = http.request(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.setTimeout(5_000, () => req.destroy(new Error(`${method} ${host} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A backend that answers `<name> <path and query>`, the request headers it saw in `x-seen-*`,
 * and a response header of its own for a policy to remove.
 */
export async function startEchoBackend(res: Resources, name = 'echo'): Promise<number> {
  const server = http.createServer((req, reply) => {
    reply.writeHead(200, {
      'content-type': 'text/plain',
      'x-seen-env': String(req.headers['x-env'] ?? 'absent'),
      'x-seen-authorization': String(req.headers.authorization ?? 'absent'),
      'x-powered-by': 'echo',
    });
    reply.end(`${name} ${req.url}`);
  });
  return listenLoopback(res, server);
}

/** A basicAuth user line (bcrypt) for specs whose test does not log in. */
export const ALICE = 'alice:$2b$05$abcdefghijklmnopqrstuutXu9KzOt.1yBoZUeFWoT/914/JfszCO';

/**
 * Every policy but redirect and maintenance (they answer instead of proxying), each as the spec of a
 * service of its own; the headers one sets `X-Env: <tag>` on requests.
 */
export function proxyingPolicies(tag: string): Record<string, Record<string, unknown>> {
  return {
    plain: {},
    strip: { stripPrefix: '/api' },
    add: { addPrefix: '/v1' },
    headers: { headers: { request: { 'X-Env': tag }, response: { 'X-Frame-Options': 'DENY' } } },
    timeouts: { timeouts: { connect: '2s', server: '5s', idle: '5s' } },
    ratelimit: { rateLimit: { requests: 1000, per: '10s' } },
    retries: { retries: 2 },
    auth: { basicAuth: { realm: 'ops', users: [ALICE] } },
    allow: { allow: ['127.0.0.0/8'] },
    deny: { deny: ['127.0.0.2/32'] },
    body: { maxBodySize: '1m' },
    errors: { errorPages: { 502: '<h1>down</h1>' } },
  };
}

/** The policies that answer themselves, with the status they answer. */
export const ANSWERING_POLICIES: Record<string, [Record<string, unknown>, number]> = {
  redirect: [{ redirect: { scheme: 'https', code: 308 } }, 308],
  maint: [{ maintenance: { enabled: true, page: 'later' } }, 503],
};
