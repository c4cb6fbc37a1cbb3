import { describe, expect, it } from 'vitest';
import { withHostScopedSources, withOlderLayoutNames } from '../confd/older-layout.js';
import { MemoryKeyValues } from '../template/kv.js';

describe('confd-style keys: the older layout shown from host-scoped keys', () => {
  it('follows …/hosts/ too when a template reads …/endpoints', () => {
    expect(withHostScopedSources(['/fabric/endpoints/api', '/app/config'])).toEqual(['/fabric/endpoints/api', '/app/config', '/fabric/hosts/']);
    expect(withHostScopedSources(['/fabric/endpoints'])).toEqual(['/fabric/endpoints', '/fabric/hosts/']);
    expect(withHostScopedSources(['/fabric/endpointsx', '/'])).toEqual(['/fabric/endpointsx', '/']);
  });

  it('names each host-scoped endpoint and host record as the older layout did; a real older key wins', () => {
    const kv = withOlderLayoutNames(
      new MemoryKeyValues([
        ['/fabric/hosts/h1/endpoints/api/c1', 'new-c1'],
        ['/fabric/hosts/h1/info', 'info-h1'],
        ['/fabric/hosts/h2/endpoints/api/c2', 'new-c2'],
        ['/fabric/endpoints/api/h2/c2', 'old-c2'],
        ['/app/x', 'y'],
      ]),
    );
    expect(kv.list('/fabric/endpoints/')).toEqual([
      ['/fabric/endpoints/api/h1/c1', 'new-c1'],
      ['/fabric/endpoints/api/h2/c2', 'old-c2'],
    ]);
    expect(kv.get('/fabric/hosts/h1')).toBe('info-h1');
    expect(kv.get('/app/x')).toBe('y');
  });
});
