// Fuzz surface 4: the router's config file (YAML → lb/config.ts), read the way `fabric router
// --config` reads it (lb/main.ts: resolveOptions, then routerConfigSchema through parseOrThrow).
// Any file is refused with FABRIC_ERR_CONFIG and a reason, or accepted; the values an accepted
// config gives the HAProxy and nginx templates (listeners, hard-stop-after, maxconn, the health
// check defaults) render into configs that keep the template's shape.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ROUTER_CONFIG_KEYS, type RouterConfig, routerConfigSchema } from '../../lb/config.js';
import { routerCommand } from '../../lb/main.js';
import { buildModel } from '../../lb/model.js';
import { FabricError } from '../../src/errors.js';
import { decodeEntry } from '../../src/model/entry.js';
import { parseOrThrow, resolveOptions } from '../../src/options.js';
import { haproxyShape, nginxShape } from './config-shape.js';
import { fuzzRuns, fuzzTimeout, hostileString, junk, nearly, nearlyInt, PROTO_KEYS, thrown } from './hostile.js';
import { createRenderer, type Renderer, type RenderSettings } from './render-files.js';
import { assertFuzz, printTallies, tally } from './tally.js';

const hostPorts = fc.constantFrom('127.0.0.1:8080', '[::1]:8443', 'localhost:80', '0.0.0.0:1', ' 127.0.0.1:80 ', '127.0.0.1:0');
const durations = fc.oneof(fc.constantFrom('2s', '500ms', '1.5s', 100, 2000, 1000.5, '1h'), nearly(fc.constant('2s')));

function optional<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.option(arb, { nil: undefined, freq: 2 });
}

const configObject = fc
  .record({
    domain: optional(nearly(fc.constantFrom('apps.test', 'example.com'))),
    routerId: optional(nearly(fc.constantFrom('r1', 'router-a.b'))),
    healthCheck: optional(
      fc.record({
        interval: optional(durations),
        timeout: optional(durations),
        rise: optional(nearlyInt(1, 100)),
        fall: optional(nearlyInt(1, 100)),
        unconfigured: optional(fc.constantFrom('tcp', 'none', 'TCP')),
      }),
    ),
    debounce: optional(fc.record({ min: optional(durations), max: optional(durations) })),
    targets: optional(
      fc.array(
        fc.oneof(
          fc.record({
            kind: fc.constant('haproxy'),
            http: optional(nearly(hostPorts)),
            prometheus: optional(nearly(hostPorts)),
            hardStopAfter: optional(nearly(fc.constantFrom('30s', '1m', '500ms'))),
            maxconn: optional(nearlyInt(1, 1_000_000)),
          }),
          fc.record({ kind: fc.constant('nginx'), http: optional(nearly(hostPorts)), workerShutdownTimeout: optional(nearly(fc.constantFrom('30s', '10s'))) }),
          fc.record({ kind: nearly(fc.constantFrom('file', 'slb', 'haproxy')), template: optional(hostileString) }),
        ),
        { maxLength: 3 },
      ),
    ),
    extra: optional(fc.tuple(fc.constantFrom(...PROTO_KEYS, 'etcd', 'logLevel', 'unknownKey', 'listen'), junk)),
  })
  .map(({ extra, ...fields }) => {
    const clean = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(clean)
        : typeof v === 'object' && v !== null
          ? Object.fromEntries(
              Object.entries(v)
                .filter(([, x]) => x !== undefined)
                .map(([k, x]) => [k, clean(x)]),
            )
          : v;
    const config = clean(fields) as Record<string, unknown>;
    return extra ? Object.fromEntries([...Object.entries(config), extra]) : config;
  });

const configText = fc.oneof(
  { weight: 8, arbitrary: configObject.map((c) => yamlOf(c)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', '---', '[]', '- a', 'a: &a [*a]', '__proto__: {domain: x.io}', 'targets: {kind: haproxy}', 'domain: !!binary aGk=', '\t:'),
  },
  { weight: 1, arbitrary: hostileString },
);

function yamlOf(value: Record<string, unknown>): string {
  try {
    return stringify(value);
  } catch {
    return JSON.stringify(value);
  }
}

/** lb/main.ts runRouter's reading of the config, without starting anything. */
function readRouterConfig(file: string): RouterConfig {
  const command = routerCommand().action(() => undefined);
  command.exitOverride();
  command.parse(['--config', file], { from: 'user' });
  const { values, file: fromFile } = resolveOptions(command, { fileKeys: ROUTER_CONFIG_KEYS, env: {} });
  return parseOrThrow(routerConfigSchema, { ...fromFile, domain: values.domain ?? fromFile.domain }, file);
}

/** What the accepted config gives the templates. */
function renderSettings(config: RouterConfig): RenderSettings {
  const haproxy = config.targets.find((t) => t.kind === 'haproxy');
  const nginx = config.targets.find((t) => t.kind === 'nginx');
  const h = config.healthCheck;
  return {
    haproxy:
      haproxy?.kind === 'haproxy'
        ? { http: haproxy.http, hardStopAfter: haproxy.hardStopAfter, maxconn: haproxy.maxconn, prometheus: haproxy.prometheus }
        : undefined,
    nginx: nginx?.kind === 'nginx' ? { http: nginx.http, workerShutdownTimeout: nginx.workerShutdownTimeout } : undefined,
    checks: { intervalMs: h.interval, timeoutMs: h.timeout, rise: h.rise, fall: h.fall, unconfigured: h.unconfigured },
  };
}

const runs = fuzzRuns(500);
const CHECKS = Math.ceil((Number(process.env.FABRIC_FUZZ_CHECKS) || 20) / 4);
let work: string;
let renderer: Renderer;
const endpoint = {
  service: 'web',
  host: 'h1',
  container: 'c1',
  name: 'c1',
  address: '10.0.0.1',
  port: 80,
  weight: 1,
  mode: 'http',
  domains: [],
  health: 'none',
  state: 'up',
};
const model = () => buildModel([decodeEntry('endpoints/web/h1/c1', JSON.stringify(endpoint), 1)], 1, { domain: 'apps.test' });

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-fuzz-config-'));
  renderer = await createRenderer(work);
});
afterAll(() => {
  printTallies();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('fuzz: router config (YAML → lb/config.ts)', () => {
  it(
    'refuses with FABRIC_ERR_CONFIG and a reason, or accepts values that render into well-shaped configs; a sample passes haproxy -c and nginx -t',
    async () => {
      const t = tally('router config (YAML)');
      const file = path.join(work, 'router.yaml');
      const m = model();
      const sample: Array<{ text: string; rendered: ReturnType<Renderer['render']> }> = [];
      assertFuzz(
        t,
        configText,
        (text) => {
          fs.writeFileSync(file, text);
          let config: RouterConfig | undefined;
          const err = thrown(() => {
            config = readRouterConfig(file);
          });
          if (err !== undefined) {
            t.rejected++;
            expect(err).toBeInstanceOf(FabricError);
            expect((err as FabricError).code).toBe('FABRIC_ERR_CONFIG');
            expect((err as FabricError).message.replace(file, '').replace(/[:\s]/g, '')).not.toBe('');
            return;
          }
          t.accepted++;
          const rendered = renderer.render(m, renderSettings(config!));
          const problems = [...haproxyShape(rendered.haproxy.config).problems, ...nginxShape(rendered.nginx).problems];
          t.injected += problems.length;
          expect(problems, text).toEqual([]);
          if (sample.length < CHECKS && t.accepted % 7 === 1) sample.push({ text, rendered });
        },
        runs,
      );
      for (const { text, rendered } of sample) {
        await expect(renderer.checkHaproxy(rendered.haproxy), text).resolves.toBeUndefined();
        t.haproxyChecked++;
        await expect(renderer.checkNginx(rendered.nginx), text).resolves.toBeUndefined();
        t.nginxChecked++;
      }
    },
    fuzzTimeout(runs, 3) + CHECKS * 2_000,
  );
});
