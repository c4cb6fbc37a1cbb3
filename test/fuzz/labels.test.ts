// Fuzz surface 1: Docker labels and environment as the agent reads them (agent/desired.ts:
// `--compat` mappers for nginx-proxy, registrator and Traefik, then the fabric.* label validator).
// Whatever a container carries, the agent never crashes: it ignores the container, refuses it with
// a reason, or registers an endpoint that encodes and that the router decodes back as it is.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { COMPAT_TOOLS } from '../../agent/compat/index.js';
import type { ContainerFacts } from '../../agent/container.js';
import { desiredOutcome, type HostContext } from '../../agent/desired.js';
import { encodeEndpoint } from '../../src/model/endpoint.js';
import { decodeEntry } from '../../src/model/entry.js';
import { fuzzRuns, fuzzTimeout, hostileString, nearly, PROTO_KEYS, thrown } from './hostile.js';
import { assertFuzz, printTallies, tally } from './tally.js';

const ID = 'abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789';
const hosts = fc.constantFrom('web.example.com', 'a.b.c', 'WWW.EXAMPLE.COM', 'x.io,y.io', ' a.io , ,b.io ', '*.example.com', 'localhost', 'a_b.io');
const values = {
  service: fc.constantFrom('web', 'api-2', 'Web', 'a.b', 'x'),
  port: fc.constantFrom('80', '8080', '0', '65536', '1e3', ' 80 ', '-1', '080', '99999999'),
  path: fc.constantFrom('/api', '/', '/a~b', 'api', '/a b', '/%2e'),
  weight: fc.constantFrom('0', '100', '256', '257', '1.5'),
  duration: fc.constantFrom('2s', '100ms', '1.0005s', '99', '1h', '2h', '0.5s', 'soon'),
  rule: fc.constantFrom(
    'Host(`web.example.com`)',
    'Host(`a.io`) && PathPrefix(`/api`)',
    'Host(`a.io`, `b.io`)',
    'HostRegexp(`.*`)',
    'Host(`a.io`) || Path(`/x`)',
    'PathPrefix(`/x`)',
    'Host("a.io")',
    'Host(`a.io`',
  ),
};
const labelValue = (valid: fc.Arbitrary<string>) => nearly(valid);

/** Labels: fabric.*, Traefik, registrator; valid, near misses and hostile, sometimes with prototype keys. */
const labels: fc.Arbitrary<Record<string, string>> = fc
  .array(
    fc.oneof(
      fc.tuple(fc.constant('fabric.service'), labelValue(values.service)),
      fc.tuple(fc.constant('fabric.port'), labelValue(values.port)),
      fc.tuple(fc.constant('fabric.domains'), labelValue(hosts)),
      fc.tuple(fc.constant('fabric.path'), labelValue(values.path)),
      fc.tuple(fc.constant('fabric.weight'), labelValue(values.weight)),
      fc.tuple(fc.constantFrom('fabric.version', 'fabric.tls', 'fabric.mode'), labelValue(fc.constantFrom('v1', 'auto', 'tcp', 'http', 'none'))),
      fc.tuple(fc.constant('fabric.health.path'), labelValue(values.path)),
      fc.tuple(fc.constant('fabric.health.interval'), labelValue(values.duration)),
      fc.tuple(fc.constant('traefik.enable'), fc.constantFrom('true', 'false', 'TRUE', '')),
      fc.tuple(fc.constantFrom('traefik.http.routers.r1.rule', 'traefik.http.routers.r2.rule'), labelValue(values.rule)),
      fc.tuple(
        fc.constantFrom('traefik.http.services.s1.loadbalancer.server.port', 'traefik.http.services.s1.loadbalancer.healthcheck.interval'),
        labelValue(values.port),
      ),
      fc.tuple(fc.constantFrom('traefik.http.middlewares.m.basicauth.users', 'traefik.http.routers.r1.tls', 'traefik.docker.network'), hostileString),
      fc.tuple(
        fc.constantFrom('SERVICE_NAME', 'SERVICE_80_NAME', 'SERVICE_TAGS', 'SERVICE_CHECK_HTTP', 'SERVICE_CHECK_INTERVAL', 'SERVICE_IGNORE'),
        labelValue(fc.constantFrom('web', 'urlprefix-a.io/api', '/health', '5s', 'true')),
      ),
      fc.tuple(fc.constantFrom('com.docker.compose.service', ...PROTO_KEYS), labelValue(values.service)),
      fc.tuple(hostileString, hostileString),
    ),
    { maxLength: 6 },
  )
  .chain((pairs) =>
    // A container that mostly would be served (native, Traefik or registrator labels), the fuzzed pairs on top.
    fc
      .constantFrom<Record<string, string>>(
        {},
        { 'fabric.service': 'web', 'fabric.port': '80' },
        { 'fabric.service': 'api', 'fabric.domains': 'api.example.com', 'fabric.health.path': '/h' },
        { 'traefik.enable': 'true', 'traefik.http.routers.r1.rule': 'Host(`web.example.com`)' },
        { SERVICE_80_NAME: 'web', SERVICE_TAGS: 'urlprefix-a.io/api' },
      )
      .map((base) => Object.fromEntries([...Object.entries(base), ...pairs])),
  );

const env: fc.Arbitrary<Record<string, string> | undefined> = fc.option(
  fc
    .array(
      fc.oneof(
        fc.tuple(fc.constant('VIRTUAL_HOST'), labelValue(hosts)),
        fc.tuple(fc.constant('VIRTUAL_PORT'), labelValue(values.port)),
        fc.tuple(fc.constant('VIRTUAL_PATH'), labelValue(values.path)),
        fc.tuple(
          fc.constantFrom('SERVICE_NAME', 'SERVICE_8080_NAME', 'SERVICE_TAGS', 'SERVICE_CHECK_INTERVAL'),
          labelValue(fc.constantFrom('web', 'urlprefix-a.io/x', '10s')),
        ),
        fc.tuple(fc.constantFrom('LETSENCRYPT_HOST', 'HTTPS_METHOD', ...PROTO_KEYS), hostileString),
      ),
      { maxLength: 4 },
    )
    .chain((pairs) =>
      fc.constantFrom<Record<string, string>>({}, { VIRTUAL_HOST: 'web.example.com' }).map((base) => Object.fromEntries([...Object.entries(base), ...pairs])),
    ),
  { nil: undefined },
);

const container = fc.record({
  labels,
  env,
  addressMode: fc.constantFrom<HostContext['addressMode']>('published', 'container', 'host'),
  compat: fc.subarray([...COMPAT_TOOLS]),
  hostNetwork: fc.boolean(),
  draining: fc.boolean(),
});

const runs = fuzzRuns(1_000);
afterAll(printTallies);

describe('fuzz: Docker labels and environment (agent)', () => {
  it(
    'ignores, refuses with a reason, or registers an endpoint the router decodes back',
    () => {
      const t = tally('Docker labels (agent, --compat)');
      assertFuzz(
        t,
        container,
        (c) => {
          const facts: ContainerFacts = {
            id: ID,
            name: 'c-1',
            labels: c.labels,
            env: c.env,
            running: true,
            paused: false,
            health: 'none',
            hostNetwork: c.hostNetwork,
            stopSignal: undefined,
            exposedTcpPorts: [80, 8080],
            published: [
              { containerPort: 80, hostIp: '0.0.0.0', hostPort: 32768 },
              { containerPort: 8080, hostIp: '127.0.0.1', hostPort: 32769 },
            ],
            networks: { bridge: '172.17.0.2' },
          };
          const ctx: HostContext = { host: 'h1', hostIp: '127.0.0.1', addressMode: c.addressMode, network: undefined, compat: c.compat };
          let outcome: ReturnType<typeof desiredOutcome> | undefined;
          const err = thrown(() => {
            outcome = desiredOutcome(facts, ctx, c.draining);
          });
          expect(err).toBeUndefined();
          if (outcome!.kind === 'ignore') {
            t.rejected++;
            return;
          }
          for (const line of outcome!.ignored ?? []) expect(line.trim()).not.toBe('');
          if (outcome!.kind === 'reject') {
            t.rejected++;
            expect(outcome!.reason.trim()).not.toBe('');
            return;
          }
          t.accepted++;
          const { key, endpoint } = outcome!;
          let text = '';
          expect(
            thrown(() => {
              text = encodeEndpoint(endpoint);
            }),
          ).toBeUndefined();
          const entry = decodeEntry(key, text, 1);
          expect(entry.kind, entry.kind === 'invalid' ? entry.error : key).toBe('endpoint');
          if (entry.kind === 'endpoint') expect(JSON.stringify(entry.endpoint)).toBe(text);
        },
        runs,
      );
    },
    fuzzTimeout(runs, 1),
  );
});
