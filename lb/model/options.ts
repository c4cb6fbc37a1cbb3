import type { Endpoint } from '../../src/model/endpoint.js';
import type { TlsOptions } from '../tls/model.js';
import type { VipPool } from '../vip/pool.js';
import type { ActiveHealth } from './types.js';

export interface ModelOptions {
  /** Root domain for automatic `<service>.<domain>` names. */
  domain: string | undefined;
  /** The router's `vipPool`; without it VIPs are shown as held but never allocated or released. */
  vipPool?: VipPool;
  /** The router's active health checks, an input like the keyspace: endpoint → verdict. */
  health?: (endpoint: Endpoint) => ActiveHealth | undefined;
  /** Changes whenever `health` may answer differently (HealthChecker.version); lets a memo skip asking it again. */
  healthVersion?: number;
  /** The router's `tls:` (default `none`, and its default certificate). */
  tls?: TlsOptions;
}
