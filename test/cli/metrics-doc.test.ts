// docs/metrics.md must name every metric the agent and the router register, and list no metric
// that does not exist. Starts nothing: the metric classes register into a fresh registry.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AgentMetrics } from '../../agent/metrics.js';
import { RouterMetrics } from '../../lb/metrics.js';
import { AcmeMetrics } from '../../lb/tls/acme/metrics.js';
import { createRegistry } from '../../src/metrics.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DOC = fs.readFileSync(path.join(ROOT, 'docs/metrics.md'), 'utf8');
const SOURCE_DIRS = ['agent', 'lb', 'src', 'up'];

/** What a process registers: prom-client's defaults (createRegistry) plus the metric classes. */
async function registeredNames(): Promise<string[]> {
  const registry = createRegistry('docs-test');
  new AgentMetrics(registry);
  new RouterMetrics(registry);
  new AcmeMetrics(registry);
  const metrics = await registry.getMetricsAsJSON();
  registry.clear();
  return metrics.map((m) => m.name);
}

/** `name: 'fabric_…'` in any non-test source file: catches metrics in classes this test does not import. */
function namesInSource(): string[] {
  const names = new Set<string>();
  for (const dir of SOURCE_DIRS) {
    for (const file of listTs(path.join(ROOT, dir))) {
      for (const match of fs.readFileSync(file, 'utf8').matchAll(/\bname:\s*['"`](fabric_[a-z0-9_]+)['"`]/g)) names.add(match[1]!);
    }
  }
  return [...names];
}

function listTs(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).flatMap((entry) => {
    const full = path.join(entry.parentPath, entry.name);
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts') || full.includes('__tests__')) return [];
    return [full];
  });
}

/** The metric of each table row: lines starting with | `fabric_…` |. */
function documentedNames(): string[] {
  return [...DOC.matchAll(/^\|\s*`(fabric_[a-z0-9_]+)`\s*\|/gm)].map((m) => m[1]!);
}

describe('docs/metrics.md', () => {
  it('has a row for every metric the agent and router register', async () => {
    const documented = new Set(documentedNames());
    const registered = await registeredNames();
    expect(registered.length).toBeGreaterThan(20);
    expect(registered.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('has a row for every metric named in the source, whichever class defines it', () => {
    const documented = new Set(documentedNames());
    const inSource = namesInSource();
    expect(inSource).toContain('fabric_router_applies_total');
    expect(inSource.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('lists no metric that does not exist, and none twice', async () => {
    const documented = documentedNames();
    const known = new Set([...(await registeredNames()), ...namesInSource()]);
    expect(documented.filter((name) => !known.has(name))).toEqual([]);
    expect(documented.filter((name, i) => documented.indexOf(name) !== i)).toEqual([]);
  });
});
