// s) The cost of reading one `show stat` answer for both the check read-back and traffic: split
// once (a shared read) against once per reader, on a synthetic answer of real HAProxy 2.6 lines.
import fs from 'node:fs';
import path from 'node:path';
import { readStatTable } from '../lb/haproxy/stat-csv.js';
import { CHECK_STAT_COLUMNS, parseShowStat } from '../lb/health/haproxy-stat.js';
import { TRAFFIC_STAT_COLUMNS, trafficRows } from '../lb/traffic/stat.js';
import type { Figure } from './lib/report.js';

const FIXTURE = path.join(import.meta.dirname, '../../lb/__tests__/fixtures/haproxy-2.6-show-stat.csv');

export async function benchStatParse(): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const servers of [10_000, 100_000]) {
    const text = answerOf(servers);
    const columns = [...new Set([...CHECK_STAT_COLUMNS, ...TRAFFIC_STAT_COLUMNS])];
    const perReader = median(() => {
      parseShowStat(text);
      trafficRows(text);
    });
    const shared = median(() => {
      const table = readStatTable(text, columns)!;
      parseShowStat(table);
      trafficRows(table);
    });
    const size = `${servers.toLocaleString('en')} servers (${(text.length / 1e6).toFixed(1)} MB)`;
    figures.push(
      { id: 's', name: `${size}: split per reader, p50`, value: `${perReader.toFixed(1)} ms` },
      { id: 's', name: `${size}: split once for both, p50`, value: `${shared.toFixed(1)} ms (${(shared / perReader).toFixed(2)}×)` },
    );
  }
  return figures;
}

/** `servers` copies of the fixture's first server line, each in its own slot. */
function answerOf(servers: number): string {
  const lines = fs.readFileSync(FIXTURE, 'utf8').split('\n');
  const header = lines.find((l) => l.startsWith('# pxname'))!;
  const server = lines.find((l) => l.startsWith('svc_a,s1,'))!;
  const out = [header];
  for (let i = 0; i < servers; i++) out.push(server.replace('svc_a,s1,', `svc_${Math.floor(i / 10)},s${i % 10},`));
  return `${out.join('\n')}\n\n`;
}

function median(run: () => void, times = 15): number {
  run();
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    run();
    samples.push(performance.now() - started);
  }
  return samples.sort((a, b) => a - b)[Math.floor(times / 2)]!;
}
