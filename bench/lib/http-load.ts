// A bounded HTTP load on 127.0.0.1: a count of GETs over a few kept-alive HTTP/1.1 connections, stopped
// at a time limit too. wrk (Debian's package, installed by scripts/install-deps.sh) when it is there: a
// C client that leaves the cores to the server; else the bench's own node loop. (Not ab: it speaks
// HTTP/1.0, and nginx closes a 1.0 connection after an answer of unknown length, which a chunked
// upstream answer is, so every request would be a new connection.)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startProcess } from '../../test/harness/processes.js';
import { nowMs } from './report.js';

export interface LoadOptions {
  port: number;
  /** The Host header. */
  host: string;
  requests: number;
  connections: number;
  /** The load stops here even when requests are left. */
  timeLimitMs: number;
}

export interface LoadResult {
  client: 'wrk' | 'node';
  /** Answered, any status. */
  completed: number;
  /** An error status (wrk: ≥ 400; node: not 200), or no answer. */
  failures: number;
  /** Requests the time limit left unsent. */
  unsent: number;
  elapsedMs: number;
  rps: number;
}

/** wrk's path, or undefined when it is not installed. */
export function findWrk(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8', timeout: 5_000 }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Through wrk when its path is given (findWrk()), else the node loop. */
export function httpLoad(opts: LoadOptions, wrk: string | undefined): Promise<LoadResult> {
  return wrk ? wrkLoad(wrk, opts) : nodeLoad(opts);
}

// wrk alone only knows a duration: its one thread counts the answers, says so at N and stops; the
// bench then ends the run with SIGINT (wrk would wait out its duration), and wrk prints its summary.
const WRK_SCRIPT = `local left
function init(args) left = tonumber(args[1]) end
function response(status)
  left = left - 1
  if left == 0 then
    io.write("fabric-wrk counted\\n")
    io.flush()
    wrk.thread:stop()
  end
end
function done(s)
  local e = s.errors
  io.write(string.format("fabric-wrk %d %d %d %d %d %d %d\\n", s.requests, s.duration, e.connect, e.read, e.write, e.status, e.timeout))
end
`;

/** `wrk -t 1`: one thread, `connections` connections, `-d` the time limit; SIGINT at the count, SIGKILL by pid if it hangs. */
async function wrkLoad(wrk: string, opts: LoadOptions): Promise<LoadResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-wrk-'));
  try {
    const script = path.join(dir, 'count.lua');
    fs.writeFileSync(script, WRK_SCRIPT);
    const seconds = Math.ceil(opts.timeLimitMs / 1_000);
    const args = ['-t', '1', '-c', String(opts.connections), '-d', `${seconds}s`, '--timeout', '10s', '-s', script, '-H', `Host: ${opts.host}`];
    const started = nowMs();
    const proc = startProcess(wrk, [...args, `http://127.0.0.1:${opts.port}/`, '--', String(opts.requests)], { name: 'bench-wrk' });
    // Rejects when wrk exits first: its time limit ran out before the count.
    const counted = await proc.waitForLine(/^fabric-wrk counted$/, opts.timeLimitMs + 10_000).then(
      () => nowMs(),
      () => undefined,
    );
    const exit = await proc.stop('SIGINT', 10_000);
    const summary = /^fabric-wrk (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$/m.exec(proc.output());
    if (!summary) throw new Error(`wrk printed no summary (exit ${exit.code ?? exit.signal}): ${proc.lines().slice(-5).join(' | ')}`);
    const [completed, durationUs, ...errors] = summary.slice(1).map(Number) as [number, number, ...number[]];
    const elapsedMs = counted === undefined ? durationUs / 1_000 : counted - started;
    return {
      client: 'wrk',
      completed,
      failures: errors.reduce((a, b) => a + b, 0),
      unsent: Math.max(0, opts.requests - completed),
      elapsedMs,
      rps: (completed / elapsedMs) * 1_000,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The bench's own loop: `connections` workers, one request at a time each, over one keep-alive agent. */
async function nodeLoad(opts: LoadOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
  const started = nowMs();
  const deadline = started + opts.timeLimitMs;
  let next = 0;
  let completed = 0;
  let failures = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: opts.port, path: '/', headers: { host: opts.host }, agent }, (res) => {
        completed += 1;
        if (res.statusCode !== 200) failures += 1;
        res.resume();
        res.on('end', resolve);
      });
      req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
      req.on('error', () => {
        failures += 1;
        resolve();
      });
    });
  const worker = async () => {
    while (next < opts.requests && nowMs() < deadline) {
      next += 1;
      await one();
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, worker));
  const elapsedMs = nowMs() - started;
  agent.destroy();
  return { client: 'node', completed, failures, unsent: opts.requests - next, elapsedMs, rps: (completed / elapsedMs) * 1_000 };
}
