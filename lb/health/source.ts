import type { Endpoint } from '../../src/model/endpoint.js';
import type { Model } from '../model.js';
import type { EffectiveHealth } from './effective.js';
import type { CheckSpec } from './spec.js';
import type { CheckStatus } from './state.js';

/** Who runs the active checks: the router itself (lb/health/checker.ts) or HAProxy (lb/health/haproxy-checks.ts). */
export type CheckRunner = 'router' | 'haproxy';

/**
 * What the router, the API, the status document and the metrics read of the
 * active checks, whoever runs them. `change` is emitted when an endpoint's
 * check starts or stops letting it serve; the router then re-applies.
 */
export interface HealthSource {
  readonly runner: CheckRunner;
  on(event: 'change', listener: (key: string, status: CheckStatus) => void): this;
  /** After each model build: the endpoints to check, with their settings. */
  sync(model: Model): void;
  /** The check's word on an endpoint, for the model: undefined until it has one. */
  verdict(endpoint: Pick<Endpoint, 'service' | 'host' | 'container'>): 'healthy' | 'unhealthy' | undefined;
  /** Changes whenever `verdict()` may answer differently for some endpoint. */
  readonly version: number;
  effectiveHealth(endpoint: Pick<Endpoint, 'service' | 'host' | 'container' | 'health'>): EffectiveHealth;
  /** The check of one endpoint, for the API; null when none runs. */
  view(endpoint: Pick<Endpoint, 'service' | 'host' | 'container'>): CheckView | null;
  /** Endpoints of the model by effective health. */
  counts(): Record<EffectiveHealth, number>;
  /** For `/v1/status`: how many endpoints are checked, and the runner's own figures. */
  readonly checks: { endpoints: number; inFlight: number; queued: number } & Record<string, unknown>;
  /** Idempotent. */
  stop(): Promise<void>;
}

/** What the API and the status document show about one endpoint's active check. */
export interface CheckView extends Omit<CheckStatus, 'since' | 'lastCheck'> {
  kind: CheckSpec['kind'];
  target: string;
  source: CheckSpec['source'];
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  since: string | null;
  lastCheck: string | null;
}
