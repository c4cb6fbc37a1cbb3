// Template engines side by side (docs/templates.md): the same 1,000-server HAProxy config rendered
// from the same data by Handlebars and by the Go text/template engine, in-process, no I/O.
//  t) the shipped HAProxy model (templates/haproxy.cfg.hbs vs its Go port bench/templates/haproxy.cfg.tmpl),
//     100 backends × 10 servers
//  u) confd style: 1,000 server keys in etcd's shape (JSON values under /services/<svc>/servers/),
//     read with lsdir, gets, json and printf; a Go template and its Handlebars port
import fs from 'node:fs';
import path from 'node:path';
import { createEngine, packageRoot, type TemplateFn } from '../lb/render.js';
import { MemoryKeyValues } from '../lb/template/kv.js';
import type { Figure } from './lib/report.js';
import { summarize } from './lib/report.js';
import { haproxyBenchView } from './templates/view.js';

const ROOT = packageRoot();
const WARMUP = 30;
const RUNS = 400;

/**
 * Milliseconds per render, p50 and p90 of RUNS timed renders each after a warm-up; the two engines
 * take turns, so a busy machine slows both alike.
 */
function timeBoth(hbs: () => string, go: () => string): { hbs: number[]; go: number[] } {
  for (let i = 0; i < WARMUP; i++) {
    hbs();
    go();
  }
  const samples = { hbs: [] as number[], go: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    for (const [name, render] of [
      ['hbs', hbs],
      ['go', go],
    ] as const) {
      const t0 = performance.now();
      render();
      samples[name].push(performance.now() - t0);
    }
  }
  return samples;
}

function compare(id: string, name: string, hbs: () => string, go: () => string): Figure[] {
  const text = hbs();
  if (text !== go()) throw new Error(`${name}: the Go and Handlebars templates do not render the same text`);
  const samples = timeBoth(hbs, go);
  const h = summarize(samples.hbs);
  const g = summarize(samples.go);
  const f = (x: number) => `${x.toFixed(2)} ms`;
  return [
    { id, name: `${name}: Handlebars, per render (p50 / p90)`, value: `${f(h.p50)} / ${f(h.p90)} (${text.length} bytes)` },
    { id, name: `${name}: Go text/template, per render (p50 / p90)`, value: `${f(g.p50)} / ${f(g.p90)}` },
    { id, name: `${name}: Go ÷ Handlebars (p50)`, value: `${(g.p50 / h.p50).toFixed(2)}×`, target: '≤ 2×' },
  ];
}

function compile(engine: 'go' | 'handlebars', file: string): TemplateFn {
  return createEngine(engine).compile(fs.readFileSync(file, 'utf8'), file);
}

/** t) The HAProxy model: 100 backends × 10 servers. */
function benchModel(): Figure[] {
  const view = haproxyBenchView({ backends: 100, serversPerBackend: 10, maxconn: 50_000 });
  const hbs = compile('handlebars', path.join(ROOT, 'templates/haproxy.cfg.hbs'));
  const go = compile('go', path.join(ROOT, 'bench/templates/haproxy.cfg.tmpl'));
  return compare(
    't',
    '1,000 servers, HAProxy model',
    () => hbs(view),
    () => go(view),
  );
}

/** u) confd style: 100 services × 10 servers as JSON keys. */
function benchKeys(): Figure[] {
  const entries: Array<[string, string]> = [];
  for (let s = 0; s < 100; s++) {
    entries.push([`/services/svc${s}/balance`, s % 2 ? 'roundrobin' : 'leastconn']);
    for (let i = 0; i < 10; i++) entries.push([`/services/svc${s}/servers/s${i}`, JSON.stringify({ ip: `10.0.${s}.${i}`, port: 8000 + i, weight: 10 * i })]);
  }
  const kv = new MemoryKeyValues(entries);
  const hbs = compile('handlebars', path.join(ROOT, 'bench/templates/confd-haproxy.cfg.hbs'));
  const go = compile('go', path.join(ROOT, 'bench/templates/confd-haproxy.cfg.tmpl'));
  return compare(
    'u',
    '1,000 servers, confd keys',
    () => hbs({}, { kv }),
    () => go({}, { kv }),
  );
}

export async function benchTemplates(): Promise<Figure[]> {
  return [...benchModel(), ...benchKeys()];
}
