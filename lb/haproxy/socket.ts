import { createConnection } from 'node:net';
import { FabricError } from '../../src/errors.js';

/** Sends one command to a HAProxy CLI socket (admin or master) and returns its whole answer. */
export function haproxyCommand(socketPath: string, command: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = createConnection(socketPath, () => socket.end(`${command}\n`));
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new FabricError('FABRIC_ERR_RUNTIME_API', `${command}: no answer from ${socketPath} in ${timeoutMs} ms`));
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (err) => reject(new FabricError('FABRIC_ERR_RUNTIME_API', `${command}: ${err.message}`, { cause: err })));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString()));
  });
}

export interface ProcInfo {
  masterPid: number;
  reloads: number;
  failedReloads: number;
  workers: number[];
}

/** Parses the master CLI's `show proc`: `<pid> master <reloads> [failed: N] …`, then the workers. */
export function parseShowProc(text: string): ProcInfo | undefined {
  const master = /^(\d+)\s+master\s+(\d+)\s+\[failed:\s*(\d+)\]/m.exec(text);
  if (!master) return undefined;
  const section = text.split('# workers')[1]?.split('#')[0] ?? '';
  const workers = [...section.matchAll(/^(\d+)\s+worker\b/gm)].map((m) => Number(m[1]));
  return { masterPid: Number(master[1]), reloads: Number(master[2]), failedReloads: Number(master[3]), workers };
}
