import type { ContainerInspectInfo } from 'dockerode';
import { describe, expect, it } from 'vitest';
import { factsFromInspect, isStopSignal } from '../container.js';

describe('isStopSignal: does a kill event mean the container is going away?', () => {
  it.each<[string | undefined, string | undefined, boolean]>([
    // No signal attribute: assume the worst and drain.
    [undefined, undefined, true],
    ['', undefined, true],
    // The stop signals, by name, short name, number, any case.
    ['SIGTERM', undefined, true],
    ['TERM', undefined, true],
    ['term', undefined, true],
    ['15', undefined, true],
    [' 15 ', undefined, true],
    ['SIGKILL', undefined, true],
    ['9', undefined, true],
    ['SIGINT', undefined, true],
    ['2', undefined, true],
    ['SIGQUIT', undefined, true],
    ['3', undefined, true],
    // Reload and friends keep their traffic.
    ['SIGHUP', undefined, false],
    ['HUP', undefined, false],
    ['1', undefined, false],
    ['SIGUSR1', undefined, false],
    ['SIGUSR2', undefined, false],
    ['SIGWINCH', undefined, false],
    ['28', undefined, false],
    ['SIGHUP', 'SIGTERM', false],
    // ...unless it is the container's own StopSignal.
    ['SIGUSR1', 'SIGUSR1', true],
    ['USR1', 'SIGUSR1', true],
    ['10', 'SIGUSR1', true],
    ['SIGUSR1', 'usr1', true],
    ['SIGUSR1', '10', true],
    ['SIGWINCH', 'SIGWINCH', true],
    ['SIGUSR2', 'SIGUSR1', false],
  ])('kill %j (StopSignal %j) → %s', (signal, stopSignal, expected) => {
    expect(isStopSignal(signal, stopSignal)).toBe(expected);
  });
});

function inspect(overrides: Record<string, unknown> = {}): ContainerInspectInfo {
  const base = {
    Id: 'ab'.repeat(32),
    Name: '/web-1',
    State: { Running: true, Paused: false },
    Config: { Labels: { 'fabric.service': 'web' }, ExposedPorts: { '80/tcp': {} } },
    HostConfig: { NetworkMode: 'bridge' },
    NetworkSettings: {
      Ports: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '32768' }] },
      Networks: { bridge: { IPAddress: '172.30.0.2' } },
    },
  };
  return { ...base, ...overrides } as unknown as ContainerInspectInfo;
}

describe('factsFromInspect', () => {
  it('reads what the agent needs', () => {
    expect(factsFromInspect(inspect())).toEqual({
      id: 'ab'.repeat(32),
      name: 'web-1',
      labels: { 'fabric.service': 'web' },
      running: true,
      paused: false,
      health: 'none',
      hostNetwork: false,
      stopSignal: undefined,
      exposedTcpPorts: [80],
      published: [{ containerPort: 80, hostIp: '127.0.0.1', hostPort: 32768 }],
      networks: { bridge: '172.30.0.2' },
      env: {},
    });
  });

  it('reads the environment (for --compat): KEY=value lines, a later one winning, values keeping their "="', () => {
    const facts = factsFromInspect(inspect({ Config: { Labels: {}, Env: ['VIRTUAL_HOST=a.example.com', 'X=1', 'X=2=3', 'NOVALUE', '=bad'] } }));
    expect(facts.env).toEqual({ VIRTUAL_HOST: 'a.example.com', X: '2=3' });
  });

  it.each([
    [{ Status: 'healthy' }, 'healthy'],
    [{ Status: 'unhealthy' }, 'unhealthy'],
    [{ Status: 'starting' }, 'starting'],
    [{ Status: 'weird' }, 'none'],
    [undefined, 'none'],
  ])('health %j → %s', (health, expected) => {
    expect(factsFromInspect(inspect({ State: { Running: true, Paused: false, Health: health } })).health).toBe(expected);
  });

  it('ignores UDP ports and exposed-but-unpublished bindings; counts published ports as exposed', () => {
    const facts = factsFromInspect(
      inspect({
        Config: { Labels: {}, ExposedPorts: { '53/udp': {}, '81/tcp': {} } },
        NetworkSettings: {
          Ports: { '53/udp': [{ HostIp: '', HostPort: '53' }], '81/tcp': null, '90/tcp': [{ HostIp: '0.0.0.0', HostPort: '9090' }] },
          Networks: {},
        },
      }),
    );
    expect(facts.exposedTcpPorts.sort()).toEqual([81, 90]);
    expect(facts.published).toEqual([{ containerPort: 90, hostIp: '0.0.0.0', hostPort: 9090 }]);
  });

  it('reads host networking, the stop signal, pause and missing sections', () => {
    const facts = factsFromInspect(
      inspect({
        State: { Running: true, Paused: true },
        Config: { StopSignal: 'SIGQUIT' },
        HostConfig: { NetworkMode: 'host' },
        NetworkSettings: { Networks: { host: {} } },
      }),
    );
    expect(facts).toMatchObject({
      paused: true,
      hostNetwork: true,
      stopSignal: 'SIGQUIT',
      labels: {},
      exposedTcpPorts: [],
      published: [],
      networks: { host: '' },
    });
  });
});
