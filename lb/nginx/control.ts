import { type FileHandle, open, stat } from 'node:fs/promises';
import http from 'node:http';

/**
 * Asks nginx's control server (a unix socket in the rendered config) which
 * config version its workers run. Rejects when nothing answers.
 */
export function servedVersion(socketPath: string, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path: '/fabric/config', agent: false, headers: { host: 'fabric-control' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(body.trim()) : reject(new Error(`control server answered HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`control server did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** The size of a file now (0 when absent): where to start reading what nginx logs next. */
export async function logOffset(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/**
 * Lines nginx logged at `[emerg]` since `offset`: a reload nginx refused shows only there. (`[alert]` is
 * not a refusal: old workers cut off by worker_shutdown_timeout log "open socket … left" at that level.)
 */
export async function fatalLinesSince(path: string, offset: number): Promise<string[]> {
  return (await linesSince(path, offset)).filter((line) => line.includes('[emerg]'));
}

/** The lines appended to a file since `offset` (at most the last 256 KiB of them); none when it is absent. */
export async function linesSince(path: string, offset: number): Promise<string[]> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch {
    return [];
  }
  try {
    const { size } = await handle.stat();
    if (size <= offset) return [];
    const length = Math.min(size - offset, 256 * 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim() !== '');
  } finally {
    await handle.close();
  }
}
