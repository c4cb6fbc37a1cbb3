import { describe, expect, it } from 'vitest';
import { effectiveShares, serverWeights, type WeightGroup } from '../routes/weights.js';

const up = (n: number, weight = 100) => Array.from({ length: n }, () => ({ weight, ready: true }));

describe('serverWeights: each route group gets its share', () => {
  const cases: Array<{ name: string; groups: WeightGroup[]; weights: number[][]; shares: number[] }> = [
    {
      name: '90/10 over 3 + 1 servers',
      groups: [
        { weight: 90, servers: up(3) },
        { weight: 10, servers: up(1) },
      ],
      weights: [[256, 256, 256], [85]],
      shares: [0.9004, 0.0996],
    },
    {
      name: '50/50 over 3 + 1 servers',
      groups: [
        { weight: 50, servers: up(3) },
        { weight: 50, servers: up(1) },
      ],
      weights: [[85, 85, 85], [256]],
      shares: [0.499, 0.501],
    },
    {
      name: 'endpoint weights split a group’s share',
      groups: [
        {
          weight: 1,
          servers: [
            { weight: 100, ready: true },
            { weight: 300, ready: true },
          ],
        },
      ],
      weights: [[85, 256]],
      shares: [1],
    },
    {
      name: 'a group with no ready server gives its share to the others',
      groups: [
        { weight: 90, servers: [{ weight: 100, ready: false }] },
        { weight: 10, servers: up(2) },
      ],
      weights: [[0], [256, 256]],
      shares: [0, 1],
    },
    {
      name: 'a group at weight 0 gets nothing',
      groups: [
        { weight: 100, servers: up(1) },
        { weight: 0, servers: up(1) },
      ],
      weights: [[256], [0]],
      shares: [1, 0],
    },
    {
      name: 'a tiny share never rounds to 0',
      groups: [
        { weight: 1, servers: up(50) },
        { weight: 99, servers: up(1) },
      ],
      weights: [Array(50).fill(1), [256]],
      shares: [0.1634, 0.8366],
    },
    { name: 'no servers at all', groups: [{ weight: 100, servers: [] }], weights: [[]], shares: [0] },
  ];

  it.each(cases)('$name', ({ groups, weights, shares }) => {
    const result = serverWeights(groups);
    expect(result).toEqual(weights);
    expect(result.flat().every((w) => Number.isInteger(w) && w >= 0 && w <= 256)).toBe(true);
    for (const [i, share] of effectiveShares(result).entries()) expect(share).toBeCloseTo(shares[i]!, 3);
  });
});
