import type { Claim } from '../claims.js';
import type { EndpointEntry } from '../store.js';
import type { ActiveHealth, HostRule, ModelIssue, ServiceModel } from './types.js';

/** A service's model, its domain claims and its problems: everything that depends on its own keys only. */
export interface ServiceDerivation {
  generation: number;
  domain: string | undefined;
  /** Its endpoint entries, by key. */
  entries: EndpointEntry[];
  /** The active health verdict of each entry when derived. */
  verdicts: Array<ActiveHealth | undefined>;
  /** The service model before domains and VIP are known (domains empty). */
  base: ServiceModel;
  claims: Claim[];
  issues: ModelIssue[];
  /** Its spec or an endpoint label sets `tls`: the model then works out TLS host by host. */
  asksTls: boolean;
  /** Its spec allows only some pools: the host pools (their signature) it was derived with. */
  pools?: string;
  /** The last complete model of it, reused while nothing in it changes (targets compare by identity). */
  final?: ServiceModel;
  /** The won-hosts map `final` was made with: while the build's is the same object, so are its domains. */
  finalWon?: ReadonlyMap<string, string[]>;
}

export interface ResolvedClaims {
  hostRules: HostRule[];
  issues: ModelIssue[];
}
