// deploy/: the sample router config must be one the router accepts, and the systemd units
// must be valid and keep the properties docs/operations.md relies on. Starts no service.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ROUTER_CONFIG_KEYS, routerConfigSchema } from '../../lb/config.js';
import { formatIssues } from '../../src/grammar.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

describe('deploy/router.example.yaml', () => {
  it('parses with the router config schema, every target kind of the contract included', () => {
    const raw = parseYaml(read('deploy/router.example.yaml'));
    const result = routerConfigSchema.safeParse(raw);
    expect(result.success, result.success ? '' : formatIssues(result.error)).toBe(true);
    const config = result.data!;
    expect(config.targets.map((t) => t.kind)).toEqual(['haproxy', 'nginx', 'slb', 'file']);
    expect(config.domain).toBe('apps.example.com');
    expect(config.debounce).toEqual({ min: 20, max: 500 });
  });

  it('has no key the router would refuse as unknown', async () => {
    const router = (await import('../../lb/main.js')).routerCommand();
    const known = new Set([...ROUTER_CONFIG_KEYS, ...router.options.map((o) => o.attributeName())]);
    const raw = parseYaml(read('deploy/router.example.yaml')) as Record<string, unknown>;
    expect(Object.keys(raw).filter((key) => !known.has(key))).toEqual([]);
  });
});

describe('deploy/systemd', () => {
  const units = ['fabric-agent.service', 'fabric-router.service'];

  for (const unit of units) {
    it(`${unit} restarts on failure, reads /etc/default, and stops gracefully`, () => {
      const text = read(`deploy/systemd/${unit}`);
      const name = unit.replace(/\.service$/, '');
      expect(text).toMatch(/^Restart=on-failure$/m);
      expect(text).toContain(`EnvironmentFile=-/etc/default/${name}`);
      // The router leaves HAProxy and nginx serving for the next router (hitless restarts); the agent has no children to keep.
      expect(text).toMatch(unit === 'fabric-router.service' ? /^KillMode=process$/m : /^KillMode=mixed$/m);
      expect(text).toMatch(/^TimeoutStopSec=\d+s$/m);
      expect(text).toMatch(/^NoNewPrivileges=yes$/m);
      expect(text).toMatch(/^ProtectSystem=strict$/m);
      expect(text).not.toMatch(/^MemoryDenyWriteExecute=yes/m);
    });
  }

  it("the router gives its children time to stop: TimeoutStopSec above the router's own 10 s grace", () => {
    const seconds = Number(/^TimeoutStopSec=(\d+)s$/m.exec(read('deploy/systemd/fabric-router.service'))![1]);
    expect(seconds).toBeGreaterThan(10);
  });

  const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => fs.existsSync(p));
  it.skipIf(!analyze)('systemd-analyze verify accepts both units', async () => {
    const files = units.map((u) => path.join(ROOT, 'deploy/systemd', u));
    const result = await execa(analyze!, ['verify', ...files], { reject: false, timeout: 30_000 });
    // Only complaints about these files count (verify also reads unrelated system units).
    const ours = `${result.stdout}\n${result.stderr}`.split('\n').filter((l) => units.some((u) => l.includes(u)));
    expect(ours, ours.join('\n')).toEqual([]);
  });
});
