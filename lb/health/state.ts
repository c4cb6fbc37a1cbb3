/**
 * The rise/fall state machine of one endpoint's active check. Pure: a status
 * and one probe result in, the next status out.
 *
 * States:
 * - `unknown`: not checked yet. It serves (the agent's word stands), like a
 *   HAProxy server in its default `init-state up`: the first success makes it
 *   `healthy`, the first failure makes it `unhealthy` at once. So a router that
 *   restarts keeps every endpoint in rotation, and a dead new endpoint leaves
 *   after one check.
 * - `healthy`: out after `fall` consecutive failures.
 * - `unhealthy`: back after `rise` consecutive successes.
 */
export type CheckState = 'unknown' | 'healthy' | 'unhealthy';

export interface Thresholds {
  rise: number;
  fall: number;
}

export interface ProbeResult {
  ok: boolean;
  /** Why the probe failed ("connect ECONNREFUSED", "HTTP 500", "timeout after 1000 ms"). */
  error?: string;
  /** When the probe finished, ms since the epoch. */
  at: number;
  durationMs: number;
}

export interface CheckStatus {
  state: CheckState;
  /** Consecutive successes, and consecutive failures, up to the last check. */
  successes: number;
  failures: number;
  /** When the state last changed (ms since the epoch); undefined while unknown. */
  since: number | undefined;
  lastCheck: number | undefined;
  lastDurationMs: number | undefined;
  /** The last failure's reason; cleared when the endpoint turns healthy again. */
  lastError: string | undefined;
}

export const INITIAL_STATUS: CheckStatus = Object.freeze({
  state: 'unknown',
  successes: 0,
  failures: 0,
  since: undefined,
  lastCheck: undefined,
  lastDurationMs: undefined,
  lastError: undefined,
}) as CheckStatus;

/** The next status after one probe result. Never mutates `status`. */
export function observe(status: CheckStatus, result: ProbeResult, thresholds: Thresholds): CheckStatus {
  const successes = result.ok ? status.successes + 1 : 0;
  const failures = result.ok ? 0 : status.failures + 1;
  const state = nextState(status.state, successes, failures, thresholds);
  return {
    state,
    successes,
    failures,
    since: state === status.state ? status.since : result.at,
    lastCheck: result.at,
    lastDurationMs: result.durationMs,
    lastError: result.ok ? (state === 'healthy' ? undefined : status.lastError) : (result.error ?? 'failed'),
  };
}

function nextState(state: CheckState, successes: number, failures: number, { rise, fall }: Thresholds): CheckState {
  switch (state) {
    case 'unknown':
      return successes > 0 ? 'healthy' : 'unhealthy';
    case 'healthy':
      return failures >= fall ? 'unhealthy' : 'healthy';
    case 'unhealthy':
      return successes >= rise ? 'healthy' : 'unhealthy';
  }
}

/** Whether the active check lets the endpoint serve. */
export function checkAllowsServing(state: CheckState): boolean {
  return state !== 'unhealthy';
}
