import { describe, expect, it } from 'vitest';
import { type DemoContainer, demoProgress, type ServedEndpoint } from '../demo.js';

const id = (n: number) => String(n).repeat(64).slice(0, 64);
const containers: DemoContainer[] = [1, 2, 3].map((n) => ({ name: `fabric-demo-web-${n}`, id: id(n) }));
const served = (n: number, serving = 'ready', extra: Partial<ServedEndpoint> = {}): ServedEndpoint => ({
  container: id(n),
  name: `fabric-demo-web-${n}`,
  serving,
  ...extra,
});

describe('demoProgress: why the demo is not served yet', () => {
  it('is ready once every demo container is served', () => {
    expect(demoProgress(containers, [served(1), served(2), served(3)], [])).toEqual({ ready: true });
  });

  it("names the containers the agent rejected, grouped by the agent's reason", () => {
    const reason = 'label fabric.port is required: the container publishes 0 ports';
    const rejected = containers.map((c) => ({ container: c.id, name: c.name, reason }));
    expect(demoProgress(containers, [], rejected)).toEqual({
      ready: false,
      reason: `0 of 3 endpoints ready; fabric-demo-web-1, fabric-demo-web-2, fabric-demo-web-3 rejected by the agent: ${reason}`,
    });
  });

  it('says which are registered but not served, and why; and which are not registered yet', () => {
    const result = demoProgress(
      containers,
      [served(1), served(2, 'maint', { effectiveHealth: 'unhealthy', healthCheck: { state: 'unhealthy', lastError: 'connect ECONNREFUSED 127.0.0.1:80' } })],
      [],
    );
    expect(result).toEqual({
      ready: false,
      reason:
        '1 of 3 endpoints ready; fabric-demo-web-2 not served (maint): health check failing: connect ECONNREFUSED 127.0.0.1:80; fabric-demo-web-3 not registered yet',
    });
  });

  it("ignores other services' endpoints and other containers' rejections", () => {
    const other = { container: id(9), name: 'someone-else', reason: 'bad label' };
    expect(demoProgress(containers, [served(1), served(2), { ...served(9), name: 'x' }], [other])).toEqual({
      ready: false,
      reason: '2 of 3 endpoints ready; fabric-demo-web-3 not registered yet',
    });
  });
});
