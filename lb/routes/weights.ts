/** HAProxy's largest server weight. */
export const MAX_SERVER_WEIGHT = 256;

export interface WeightGroup {
  /** The route backend's weight (its share relative to the others). */
  weight: number;
  /** Each endpoint's own weight (0–256) and whether it takes new requests. */
  servers: Array<{ weight: number; ready: boolean }>;
}

/**
 * Pure: per-server HAProxy weights that give each group of a route its share.
 *
 * Each ready server's exact share is `group weight / Σ live group weights ×
 * endpoint weight / Σ endpoint weights in its group`; a group with no ready
 * server (or only weight-0 ones) is not live, and the others share its part.
 * Shares are scaled so the largest becomes 256 and rounded to the nearest
 * integer; a positive share never rounds below 1, so every serving endpoint
 * keeps some traffic. The error is at most half a unit per server: with
 * 90/10 over 3 + 1 servers the weights are 256, 256, 256 and 85, a 9.96 %
 * share for the 10 % group. Servers that are not ready get 0.
 */
export function serverWeights(groups: WeightGroup[]): number[][] {
  const live = groups.map((g) => (g.weight > 0 ? g.servers.reduce((sum, s) => sum + (s.ready ? s.weight : 0), 0) : 0));
  const total = groups.reduce((sum, g, i) => sum + (live[i]! > 0 ? g.weight : 0), 0);
  const shares = groups.map((g, i) => g.servers.map((s) => (total > 0 && live[i]! > 0 && s.ready ? (g.weight / total) * (s.weight / live[i]!) : 0)));
  const max = Math.max(0, ...shares.flat());
  return shares.map((list) => list.map((share) => (share > 0 ? Math.max(1, Math.round((share / max) * MAX_SERVER_WEIGHT)) : 0)));
}

/** Each group's effective fraction of the traffic (0–1) under the given server weights. */
export function effectiveShares(weights: number[][]): number[] {
  const total = weights.flat().reduce((a, b) => a + b, 0);
  return weights.map((list) => (total > 0 ? list.reduce((a, b) => a + b, 0) / total : 0));
}
