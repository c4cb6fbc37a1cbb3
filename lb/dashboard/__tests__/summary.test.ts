import { describe, expect, it } from 'vitest';
import { summarizeServices } from '../summary.js';

describe('summarizeServices', () => {
  it('keeps counts, domains and the traffic figures, not the endpoint arrays', () => {
    const summary = summarizeServices({
      revision: 7,
      services: [
        {
          name: 'web',
          mode: 'http',
          domains: ['web.apps.test'],
          paths: [],
          vip: null,
          healthy: 1,
          conflicts: [{}],
          endpoints: [
            { state: 'up', version: 'v2' },
            { state: 'draining', version: 'v1' },
            { state: 'up', version: 'v2' },
          ],
          traffic: { requestsPerSecond: 3, errorRate: 0.1, responseTimeMs: 4 },
        },
        { name: 'empty' },
      ],
    });
    expect(summary).toEqual({
      revision: 7,
      summary: true,
      services: [
        {
          name: 'web',
          mode: 'http',
          domains: ['web.apps.test'],
          paths: [],
          vip: null,
          healthy: 1,
          endpoints: 3,
          draining: 1,
          versions: ['v1', 'v2'],
          conflicts: 1,
          traffic: { requestsPerSecond: 3, errorRate: 0.1, responseTimeMs: 4 },
        },
        { name: 'empty', mode: undefined, domains: [], paths: [], vip: null, healthy: 0, endpoints: 0, draining: 0, versions: [], conflicts: 0, traffic: null },
      ],
    });
  });
});
