import http from 'node:http';
import { FabricError } from '../../../src/errors.js';

/** The control server's path for the peer state (templates/lua/fabric_peers.lua `control`). */
export const PEERS_PATH = '/fabric/peers';

/** What nginx's shared dict holds, in the format it was pushed in. */
export function readPeers(socketPath: string, timeoutMs = 2_000): Promise<string> {
  return call(socketPath, 'GET', undefined, timeoutMs);
}

/** Replaces the whole peer state; nginx answers with what it then holds. */
export function pushPeers(socketPath: string, text: string, timeoutMs = 5_000): Promise<string> {
  return call(socketPath, 'PUT', text, timeoutMs);
}

/**
 * Changes the upstreams a patch names (peerPatch), only if nginx holds its base version (else HTTP 409);
 * nginx answers with the new version, its upstream count and what it holds for each of them.
 */
export function patchPeers(socketPath: string, text: string, timeoutMs = 5_000): Promise<string> {
  return call(socketPath, 'PATCH', text, timeoutMs);
}

function call(socketPath: string, method: 'GET' | 'PUT' | 'PATCH', body: string | undefined, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { host: 'fabric-control' };
    if (body !== undefined) {
      headers['content-type'] = 'text/plain';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = http.request({ socketPath, path: PEERS_PATH, method, agent: false, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(text)
          : reject(
              new FabricError('FABRIC_ERR_RUNTIME_API', `nginx control server answered ${method} ${PEERS_PATH} with HTTP ${res.statusCode}: ${text.trim()}`),
            ),
      );
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new FabricError('FABRIC_ERR_RUNTIME_API', `nginx control server did not answer within ${timeoutMs} ms`)));
    req.on('error', (err) =>
      reject(err instanceof FabricError ? err : new FabricError('FABRIC_ERR_RUNTIME_API', `nginx control server: ${err.message}`, { cause: err })),
    );
    req.end(body);
  });
}
