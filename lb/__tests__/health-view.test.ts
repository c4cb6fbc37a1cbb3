// The health view a router publishes at status/routers/<id> (lb/health/view.ts): everything at a
// small size; above 1,000 endpoints only what has a problem, services included.
import { describe, expect, it } from 'vitest';
import { healthView } from '../health/view.js';
import { endpointEntry, ep, modelOf } from './fixtures.js';

function model(services: number, perService: number, drained: string | undefined) {
  const entries = [];
  for (let s = 0; s < services; s++)
    for (let e = 0; e < perService; e++) {
      const name = `s${s}`;
      entries.push(endpointEntry(ep(name, `${name}-${e}`, { state: name === drained && e === 0 ? 'draining' : 'up' })));
    }
  return modelOf(entries);
}

describe('healthView', () => {
  it('lists every service and endpoint up to 1,000 endpoints', () => {
    const view = healthView(model(10, 10, 's3'), undefined);
    expect(view).toMatchObject({ endpoints: 100, serviceCount: 10, truncated: false });
    expect(view.services).toHaveLength(10);
    expect(view.services.find((s) => s.name === 's3')).toMatchObject({ healthy: 9, total: 10 });
    expect(view.services.flatMap((s) => s.endpoints)).toHaveLength(100);
  });

  it('above that, lists only the services and endpoints with a problem, and counts the rest', () => {
    const view = healthView(model(101, 10, 's7'), undefined);
    expect(view).toMatchObject({ endpoints: 1_010, serviceCount: 101, truncated: true });
    expect(view.services).toEqual([{ name: 's7', healthy: 9, total: 10, endpoints: [expect.objectContaining({ serving: 'drain' })] }]);
    expect(healthView(model(101, 10, undefined), undefined).services).toEqual([]);
  });
});
