// What every benchmark prints: the machine it ran on, and its figures as a table. Nothing here
// compares against a target: benchmarks measure and print, they never fail on a threshold.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

/** One printed figure: `target` is the issue's goal, shown for reference only. */
export interface Figure {
  id: string;
  name: string;
  value: string;
  target?: string;
}

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** A wall clock with sub-millisecond resolution, comparable with Docker's `timeNano` / 1e6. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Nearest-rank percentiles (p99 of 50 samples is the largest one). */
export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { n, min: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const at = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
  return { n, min: sorted[0]!, p50: at(50), p90: at(90), p99: at(99), max: sorted[n - 1]!, mean: sorted.reduce((a, b) => a + b, 0) / n };
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value >= 100 ? `${value.toFixed(0)} ms` : `${value.toFixed(1)} ms`;
}

/** `p50 / p99` figures, plus a detail line with n, min, p90, max. */
export function latencyFigures(id: string, name: string, samples: number[], targets: { p50?: string; p99?: string } = {}, failures = 0): Figure[] {
  const s = summarize(samples);
  const extra = `n=${s.n}${failures ? `, ${failures} timed out` : ''}; min ${ms(s.min)}, p90 ${ms(s.p90)}, max ${ms(s.max)}, mean ${ms(s.mean)}`;
  return [
    { id, name: `${name}: p50`, value: ms(s.p50), target: targets.p50 },
    { id, name: `${name}: p99`, value: ms(s.p99), target: targets.p99 },
    { id, name: `${name}: spread`, value: extra },
  ];
}

export function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

export function printFigures(title: string, figures: Figure[]): void {
  printTable(
    title,
    ['id', 'figure', 'measured', 'issue target'],
    figures.map((f) => [f.id, f.name, f.value, f.target ?? '']),
  );
}

function firstLine(cmd: string, args: string[]): string {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    return out.split('\n')[0]!.trim();
  } catch (error) {
    return `unavailable (${(error as Error).message.split('\n')[0]})`;
  }
}

export interface Machine {
  date: string;
  cpu: string;
  cores: number;
  memory: string;
  kernel: string;
  node: string;
  haproxy: string;
  etcd: string;
  docker: string;
  loadavg: string;
}

export function machine(): Machine {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const cpu = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  const cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length || os.cpus().length;
  const memKb = Number(/^MemTotal:\s*(\d+)/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  return {
    date: new Date().toISOString(),
    cpu,
    cores,
    memory: `${(memKb / 1024 / 1024).toFixed(1)} GiB`,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    haproxy: firstLine('haproxy', ['-v']).replace(/ - https?:.*$/, ''),
    etcd: firstLine('etcd', ['--version']),
    docker: firstLine('dockerd', ['--version']),
    loadavg: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
}

export function printMachine(m: Machine = machine()): Machine {
  printTable(
    'Machine',
    ['', ''],
    Object.entries(m).map(([k, v]) => [k, String(v)]),
  );
  return m;
}

/** Resident set size of a process in MiB, from /proc/<pid>/status (undefined once it is gone). */
export function rssMiB(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s*(\d+)\s*kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat (undefined once it is gone). */
export function cpuTimeMs(pid: number, ticksPerSecond = 100 /* getconf CLK_TCK */): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

export function sleep(msToWait: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, msToWait));
}
