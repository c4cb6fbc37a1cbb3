import { FabricError } from '../../src/errors.js';
import { haproxyCommand } from '../haproxy/socket.js';
import type { TlsOp } from './haproxy-diff.js';

/**
 * HAProxy's certificate commands (2.2+, no experimental mode in 2.6) over the admin socket. A
 * certificate's PEM goes as the payload of `set ssl cert`; errors name the command, never the payload.
 */

/** Applies certificate ops in order; returns the number of commands sent. */
export async function applyTlsOps(socket: string, ops: TlsOp[]): Promise<number> {
  let sent = 0;
  for (const op of ops) sent += await applyTlsOp(socket, op);
  return sent;
}

async function applyTlsOp(socket: string, op: TlsOp): Promise<number> {
  switch (op.kind) {
    case 'cert-new':
      await send(socket, `new ssl cert ${op.file}`, /New empty certificate store|already exists/);
      await upload(socket, op.file, op.pem);
      await addEntry(socket, op.list, op.file, op.sni);
      return 4;
    case 'cert-set':
      await upload(socket, op.file, op.pem);
      return 2;
    case 'cert-sni': {
      // The new entry first: the hosts never go without it, even for a moment.
      const before = (await crtListLines(socket, op.list)).filter((l) => l.file === op.file);
      await addEntry(socket, op.list, op.file, op.sni);
      for (const line of before) await send(socket, `del ssl crt-list ${op.list} ${op.file}:${line.line}`, /deleted/);
      return 2 + before.length;
    }
    case 'cert-del': {
      const lines = (await crtListLines(socket, op.list)).filter((l) => l.file === op.file);
      for (const line of lines) await send(socket, `del ssl crt-list ${op.list} ${op.file}:${line.line}`, /deleted/);
      await send(socket, `del ssl cert ${op.file}`, /deleted|doesn't exist|not found/i);
      return 2 + lines.length;
    }
  }
}

/** set ssl cert (a transaction with the new PEM) → commit ssl cert. */
async function upload(socket: string, file: string, pem: string): Promise<void> {
  await send(socket, `set ssl cert ${file} <<\n${pem.trim()}\n`, /Transaction (created|updated)/, `set ssl cert ${file} <<(the PEM)`);
  await send(socket, `commit ssl cert ${file}`, /Success!/);
}

async function addEntry(socket: string, list: string, file: string, sni: string[]): Promise<void> {
  await send(socket, `add ssl crt-list ${list} <<\n${[file, ...sni].join(' ')}\n`, /Success!/, `add ssl crt-list ${list} ${file}`);
}

export interface CrtListLine {
  file: string;
  line: number;
  sni: string[];
}

/** Pure: `show ssl crt-list -n <list>`: `<file>:<line> [options] [sni…]` per entry. */
export function parseCrtList(text: string): CrtListLine[] {
  const lines: CrtListLine[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [head = '', ...rest] = line.split(/\s+/);
    const colon = head.lastIndexOf(':');
    const number = Number(head.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(number)) continue;
    // Per-entry options ("[alpn …]") are never written by fabric; skip them if present.
    const sni = rest
      .join(' ')
      .replace(/\[[^\]]*\]/g, ' ')
      .trim();
    lines.push({ file: head.slice(0, colon), line: number, sni: sni ? sni.split(/\s+/) : [] });
  }
  return lines;
}

export async function crtListLines(socket: string, list: string): Promise<CrtListLine[]> {
  return parseCrtList(await send(socket, `show ssl crt-list -n ${list}`, /^#/));
}

async function send(socket: string, command: string, ok: RegExp, shown = command): Promise<string> {
  const answer = await haproxyCommand(socket, command);
  if (!ok.test(answer)) throw new FabricError('FABRIC_ERR_RUNTIME_API', `"${shown}": ${answer.trim().slice(0, 300)}`);
  return answer;
}
