/**
 * What an apply does to an nginx with run-time upstreams, decided from versions alone (no I/O):
 * the config's version moves only with structure (server blocks, policies, TLS, the set of
 * upstreams), the peers' version with membership, weights, drain and health.
 */
export interface DynamicPlan {
  /** Push the peer state (before a reload: the shared dict survives it, and new upstreams find their peers). */
  push: boolean;
  /** Write the config and reload (or start) nginx. */
  reload: boolean;
}

export interface DynamicVersions {
  /** nginx.conf's version (renderNginx). */
  config: string | undefined;
  /** The peer state's version (peerState). */
  peers: string | undefined;
}

export function planDynamic(applied: DynamicVersions, desired: { config: string; peers: string }): DynamicPlan {
  return { push: applied.peers !== desired.peers, reload: applied.config !== desired.config };
}
