import { describe, expect, it } from 'vitest';
import { steadyStatus, summarizeServices } from '../summary.js';

describe('summarizeServices', () => {
  it('keeps counts and domains, not the endpoint arrays', () => {
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
        },
        { name: 'empty', mode: undefined, domains: [], paths: [], vip: null, healthy: 0, endpoints: 0, draining: 0, versions: [], conflicts: 0 },
      ],
    });
  });
});

describe('steadyStatus', () => {
  it('drops the health reader counters that tick every second, keeps the rest', () => {
    const status = {
      state: 'running',
      healthChecks: { mode: 'haproxy', reads: 4, lastRead: '2026-12-02T05:20:51.624Z', lastReadMs: 1, endpointsByHealth: { up: 2 } },
    };
    expect(steadyStatus(status)).toEqual({ state: 'running', healthChecks: { mode: 'haproxy', endpointsByHealth: { up: 2 } } });
    expect(steadyStatus({ state: 'running' })).toEqual({ state: 'running' });
  });
});
