// Plain HTTP from tests: a GET with a Host header over a fresh connection (through a load balancer)
// and a JSON API GET (a fabric process' /v1, /readyz, /metrics).
import http from 'node:http';

export interface HttpResult {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export interface HttpGetOptions {
  timeoutMs?: number;
  /** Default none: a fresh connection per request. */
  agent?: http.Agent;
}

/**
 * One GET to 127.0.0.1:`port` with `host` as its Host header, with a deadline.
 * On a kept-alive connection the server may close the idle socket just as the next request goes out
 * (nginx's old workers do at every reload): like curl, Go's net/http and browsers, the request is then
 * sent once more on a new connection, since a GET that got no response byte is safe to retry
 * (RFC 9110 §9.2.2). Anything else is a failure.
 */
export async function httpGet(port: number, host: string, pathname = '/', opts: HttpGetOptions = {}): Promise<HttpResult> {
  try {
    return await httpGetOnce(port, host, pathname, opts);
  } catch (error) {
    if (!(error instanceof ReusedSocketClosed)) throw error;
    return httpGetOnce(port, host, pathname, opts);
  }
}

class ReusedSocketClosed extends Error {}

/** The response had begun (status and headers came) when its connection broke: a server killed mid-answer. */
export class ResponseCutShort extends Error {}

function httpGetOnce(port: number, host: string, pathname: string, opts: HttpGetOptions): Promise<HttpResult> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  return new Promise((resolve, reject) => {
    let responded = false;
    const req = http.request({ host: '127.0.0.1', port, path: pathname, method: 'GET', headers: { host }, agent: opts.agent ?? false }, (res) => {
      responded = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', (error) => reject(new ResponseCutShort(`HTTP ${res.statusCode} cut short: ${error.message}`)));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET http://${host}${pathname} via :${port} timed out after ${timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      const closedBeforeAnswer = !responded && req.reusedSocket && (error.code === 'ECONNRESET' || error.message === 'socket hang up');
      reject(closedBeforeAnswer ? new ReusedSocketClosed(error.message) : error);
    });
    req.end();
  });
}

export interface JsonResult {
  status: number;
  text: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  json: any;
}

/** GET `url` (5 s deadline): status, text and, where the body is JSON, its value. `token`: sent as a Bearer token. */
export async function getJson(url: string, token?: string): Promise<JsonResult> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000), headers });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}
