import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { parseHostPort } from '../src/grammar.js';

/**
 * One GET of `/` with `Host: host` through `address` (HOST:PORT), answered as the demo prints it:
 * "200: body". With `ca`, over HTTPS trusting only that CA (and `host` as the SNI name).
 */
export function answerOf(address: string, host: string, ca?: Buffer): Promise<string> {
  const target = parseHostPort(address);
  if (!target) return Promise.reject(new Error(`${address}: expected HOST:PORT`));
  const options: RequestOptions = { hostname: target.host, port: target.port, path: '/', headers: { host }, agent: false };
  const send = (o: RequestOptions, cb: (res: IncomingMessage) => void) => (ca ? httpsRequest({ ...o, servername: host, ca }, cb) : httpRequest(o, cb));
  return new Promise((resolve, reject) => {
    const req = send(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(`${res.statusCode}: ${body.trim()}`));
    });
    req.setTimeout(3_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}
