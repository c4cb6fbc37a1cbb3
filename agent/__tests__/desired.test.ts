import { describe, expect, it } from 'vitest';
import { encodeEndpoint } from '../../src/model/endpoint.js';
import type { ContainerFacts } from '../container.js';
import { desiredOutcome, type HostContext, type Outcome } from '../desired.js';

const ID = 'c0ffee'.padEnd(64, '0');

function facts(overrides: Partial<ContainerFacts> = {}): ContainerFacts {
  return {
    id: ID,
    name: 'web-1',
    labels: { 'fabric.service': 'web' },
    running: true,
    paused: false,
    health: 'none',
    hostNetwork: false,
    stopSignal: undefined,
    exposedTcpPorts: [80],
    published: [{ containerPort: 80, hostIp: '127.0.0.1', hostPort: 32768 }],
    networks: { bridge: '172.30.0.5' },
    ...overrides,
  };
}

const published: HostContext = { host: 'node-1', hostIp: '10.0.0.9', addressMode: 'published', network: undefined };
const container: HostContext = { ...published, addressMode: 'container' };
const host: HostContext = { ...published, addressMode: 'host' };

function target(outcome: Outcome): { address: string; port: number } | string {
  if (outcome.kind === 'register') return { address: outcome.endpoint.address, port: outcome.endpoint.port };
  if (outcome.kind === 'reject') return outcome.reason;
  return 'ignore';
}

describe('desiredOutcome: which containers count', () => {
  it.each([
    ['not labelled', facts({ labels: {} }), 'ignore'],
    ['labelled but stopped', facts({ running: false }), 'ignore'],
    ['labelled but paused', facts({ paused: true }), 'ignore'],
    ['labelled, stopped and with bad labels', facts({ running: false, labels: { 'fabric.service': 'Bad' } }), 'ignore'],
    ['labelled and running', facts(), 'register'],
    ['labelled with bad labels', facts({ labels: { 'fabric.service': 'Bad' } }), 'reject'],
  ])('%s → %s', (_what, f, kind) => {
    expect(desiredOutcome(f, published, false).kind).toBe(kind);
  });

  it('a rejection names the container and the reason', () => {
    expect(desiredOutcome(facts({ labels: { 'fabric.service': 'web', 'fabric.weight': '300' } }), published, false)).toEqual({
      kind: 'reject',
      container: ID,
      name: 'web-1',
      reason: expect.stringContaining('fabric.weight'),
    });
  });
});

describe('desiredOutcome: the endpoint', () => {
  it('carries every label, the host, the key, health and state', () => {
    const outcome = desiredOutcome(
      facts({
        labels: {
          'fabric.service': 'shop',
          'fabric.domains': 'a.example.com',
          'fabric.path': '/api',
          'fabric.weight': '7',
          'fabric.version': 'v3',
          'fabric.mode': 'tcp',
          'fabric.health.path': '/h',
          'fabric.health.interval': '3s',
        },
        health: 'starting',
      }),
      published,
      false,
    );
    expect(outcome).toEqual({
      kind: 'register',
      key: `hosts/node-1/endpoints/shop/${ID}`,
      endpoint: {
        service: 'shop',
        host: 'node-1',
        container: ID,
        name: 'web-1',
        address: '127.0.0.1',
        port: 32768,
        weight: 7,
        version: 'v3',
        mode: 'tcp',
        domains: ['a.example.com'],
        path: '/api',
        health: 'starting',
        state: 'up',
        check: { path: '/h', intervalMs: 3000 },
      },
    });
    if (outcome.kind === 'register') expect(() => encodeEndpoint(outcome.endpoint)).not.toThrow();
  });

  it.each(['healthy', 'unhealthy', 'starting', 'none'] as const)('health %s is passed through', (health) => {
    const outcome = desiredOutcome(facts({ health }), published, false);
    expect(outcome.kind === 'register' && outcome.endpoint.health).toBe(health);
  });

  it.each([
    [false, 'up'],
    [true, 'draining'],
  ])('draining=%s → state %s', (draining, state) => {
    const outcome = desiredOutcome(facts(), published, draining);
    expect(outcome.kind === 'register' && outcome.endpoint.state).toBe(state);
  });
});

describe('desiredOutcome: published mode', () => {
  const bind = (containerPort: number, hostIp: string, hostPort: number) => ({ containerPort, hostIp, hostPort });
  it.each([
    ['127.0.0.1 binding → 127.0.0.1', facts(), { address: '127.0.0.1', port: 32768 }],
    ['0.0.0.0 binding → --host-ip', facts({ published: [bind(80, '0.0.0.0', 8080)] }), { address: '10.0.0.9', port: 8080 }],
    ['empty host IP → --host-ip', facts({ published: [bind(80, '', 8080)] }), { address: '10.0.0.9', port: 8080 }],
    ['only :: binding → --host-ip', facts({ published: [bind(80, '::', 8080)] }), { address: '10.0.0.9', port: 8080 }],
    ['IPv4 preferred over IPv6', facts({ published: [bind(80, '::1', 9000), bind(80, '127.0.0.2', 9001)] }), { address: '127.0.0.2', port: 9001 }],
    [
      'fabric.port picks one of several',
      facts({
        labels: { 'fabric.service': 'web', 'fabric.port': '443' },
        exposedTcpPorts: [80, 443],
        published: [bind(80, '127.0.0.1', 1), bind(443, '127.0.0.1', 2)],
      }),
      { address: '127.0.0.1', port: 2 },
    ],
    [
      'one port published on two addresses counts once',
      facts({ published: [bind(80, '127.0.0.1', 5), bind(80, '::1', 5)] }),
      { address: '127.0.0.1', port: 5 },
    ],
    [
      'several published, no fabric.port',
      facts({ exposedTcpPorts: [80, 443], published: [bind(80, '127.0.0.1', 1), bind(443, '127.0.0.1', 2)] }),
      'label fabric.port is required: the container publishes 2 ports',
    ],
    ['nothing published', facts({ published: [] }), 'label fabric.port is required: the container publishes 0 ports'],
    [
      'fabric.port not published',
      facts({ labels: { 'fabric.service': 'web', 'fabric.port': '8080' } }),
      'port 8080/tcp is not published (address mode "published")',
    ],
  ])('%s', (_what, f, expected) => {
    expect(target(desiredOutcome(f, published, false))).toEqual(expected);
  });
});

describe('desiredOutcome: container mode', () => {
  it.each([
    ['the only network, the only exposed port', facts(), container, { address: '172.30.0.5', port: 80 }],
    [
      '--network among several',
      facts({ networks: { bridge: '172.30.0.5', back: '10.1.0.3' } }),
      { ...container, network: 'back' },
      { address: '10.1.0.3', port: 80 },
    ],
    [
      'fabric.port among several exposed',
      facts({ labels: { 'fabric.service': 'web', 'fabric.port': '81' }, exposedTcpPorts: [80, 81] }),
      container,
      { address: '172.30.0.5', port: 81 },
    ],
    ['several networks, no --network', facts({ networks: { a: '10.0.0.1', b: '10.0.0.2' } }), container, 'the container is on 2 networks: set --network'],
    ['no network at all', facts({ networks: {} }), container, 'the container is on 0 networks: set --network'],
    ['not on --network', facts(), { ...container, network: 'back' }, 'the container has no address on network "back"'],
    [
      'on --network without an address',
      facts({ networks: { bridge: '' } }),
      { ...container, network: 'bridge' },
      'the container has no address on network "bridge"',
    ],
    [
      'fabric.port not exposed',
      facts({ labels: { 'fabric.service': 'web', 'fabric.port': '8080' } }),
      container,
      'port 8080/tcp is not exposed by the container',
    ],
    ['several exposed, no fabric.port', facts({ exposedTcpPorts: [80, 81] }), container, 'label fabric.port is required: the container exposes 2 ports'],
    ['nothing exposed', facts({ exposedTcpPorts: [] }), container, 'label fabric.port is required: the container exposes 0 ports'],
  ])('%s', (_what, f, ctx, expected) => {
    expect(target(desiredOutcome(f, ctx, false))).toEqual(expected);
  });
});

describe('desiredOutcome: host mode and host-network containers', () => {
  const hostNet = (labels: Record<string, string>) => facts({ hostNetwork: true, labels, exposedTcpPorts: [], published: [], networks: { host: '' } });
  it.each([
    ['host mode, fabric.port', hostNet({ 'fabric.service': 'web', 'fabric.port': '9000' }), host, { address: '10.0.0.9', port: 9000 }],
    ['published mode, host-network container', hostNet({ 'fabric.service': 'web', 'fabric.port': '9000' }), published, { address: '10.0.0.9', port: 9000 }],
    ['container mode, host-network container', hostNet({ 'fabric.service': 'web', 'fabric.port': '9000' }), container, { address: '10.0.0.9', port: 9000 }],
    ['host mode, the one exposed port', facts(), host, { address: '10.0.0.9', port: 80 }],
    ['no fabric.port', hostNet({ 'fabric.service': 'web' }), host, 'label fabric.port is required for a host-network container'],
  ])('%s', (_what, f, ctx, expected) => {
    expect(target(desiredOutcome(f, ctx, false))).toEqual(expected);
  });
});

describe('desiredOutcome: --compat', () => {
  const compat: HostContext = { ...published, compat: ['nginx-proxy', 'registrator', 'traefik'] };

  it('without --compat other tools are not read', () => {
    expect(desiredOutcome(facts({ labels: { SERVICE_NAME: 'web' }, env: { VIRTUAL_HOST: 'a.example.com' } }), published, false).kind).toBe('ignore');
  });

  it('an nginx-proxy container is registered like a labelled one, its domains owned the same way', () => {
    const outcome = desiredOutcome(facts({ labels: {}, env: { VIRTUAL_HOST: 'shop.example.com', VIRTUAL_PORT: '80' } }), compat, false);
    expect(outcome).toMatchObject({
      kind: 'register',
      key: `hosts/node-1/endpoints/shop-example-com/${ID}`,
      endpoint: { service: 'shop-example-com', domains: ['shop.example.com'], port: 32768 },
    });
    expect(outcome.kind === 'register' && outcome.ignored).toBeUndefined();
  });

  it('mapped labels go through the same validation; the reason says where they came from', () => {
    const outcome = desiredOutcome(facts({ labels: {}, env: { VIRTUAL_HOST: 'shop.example.com', VIRTUAL_PORT: '99999' } }), compat, false);
    expect(outcome).toMatchObject({ kind: 'reject', reason: expect.stringMatching(/fabric\.port.*99999.*\(mapped from nginx-proxy\)/) });
  });

  it('what is not understood rides on the outcome, registered or refused', () => {
    const registered = desiredOutcome(
      facts({ labels: { 'traefik.http.routers.w.rule': 'Host(`w.example.com`)', 'traefik.http.routers.w.middlewares': 'x' } }),
      compat,
      false,
    );
    expect(registered).toMatchObject({
      kind: 'register',
      endpoint: { service: 'w', domains: ['w.example.com'] },
      ignored: ['traefik: traefik.http.routers.w.middlewares is not mapped'],
    });
    const refused = desiredOutcome(facts({ labels: { 'traefik.http.routers.w.rule': 'Method(`GET`)' } }), compat, false);
    expect(refused).toMatchObject({ kind: 'reject', reason: expect.stringMatching(/router w: Method/), ignored: [expect.stringMatching(/router w/)] });
  });

  it('a stopped compat container is ignored', () => {
    expect(desiredOutcome(facts({ running: false, labels: { SERVICE_NAME: 'web' } }), compat, false).kind).toBe('ignore');
  });
});
