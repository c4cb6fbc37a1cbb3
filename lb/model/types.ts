import type { ErrorCode } from '../../src/errors.js';
import type { Endpoint } from '../../src/model/endpoint.js';
import type { ServiceSpec } from '../../src/model/service.js';

// The model's shared shapes. They sit below every derivation (claims, routes, VIPs, TLS, the memo,
// lb/model.ts itself), so each derivation imports downward only and no import circles back.

export type Balance = 'roundrobin' | 'leastconn' | 'source';
/** What a load balancer should do with an endpoint. */
export type ServingState = 'ready' | 'drain' | 'maint';

export interface ServiceModel {
  name: string;
  mode: 'http' | 'tcp';
  balance: Balance;
  /** Domains this service won (its automatic subdomain first). */
  domains: string[];
  /** Path prefixes; empty means the whole host. */
  paths: string[];
  endpoints: ModelEndpoint[];
  spec: ServiceSpec | undefined;
  /** The VIP this service holds (`vips/<address>`) and the port served on it; absent without one. */
  vip?: ServiceVip;
}

export interface ServiceVip {
  address: string;
  port: number;
}

/** The active health check's verdict on an endpoint (lb/health); absent until it has one. */
export type ActiveHealth = 'healthy' | 'unhealthy';
/** An endpoint as the agent wrote it, plus the router's own check result. */
export type ModelEndpoint = Endpoint & { activeHealth?: ActiveHealth };

/** One host (+ optional path prefix) → service rule, for domain routing. */
export interface HostRule {
  host: string;
  path: string | undefined;
  service: string;
  /** Set when a Route won this host (+ path): traffic goes to its weighted backend; `service` is its first backend's. */
  route?: string;
}

export interface ModelIssue {
  code: ErrorCode;
  subject: string;
  message: string;
  /** A container an agent rejected (lb/rejections.ts): which one, where, and why. */
  container?: { host: string; id: string; name: string; reason: string };
  /** `--compat`: what of another tool's labels the container carries and fabric did not map. */
  ignored?: string[];
}
