import type { Claim } from './claims.js';
import type { ResolvedClaims, ServiceDerivation } from './model/derivation.js';
import type { ModelOptions } from './model/options.js';
import type { HostRule } from './model/types.js';
import type { RouteModel } from './routes/model.js';
import { type GroupedKeys, type ServiceKeys, sortedServiceKeys } from './store.js';

/**
 * What `deriveModel` may reuse from the previous build, owned by the router
 * (one per store). A service is reused when its keys have the same store
 * generation and every endpoint's health verdict is the same; the claim
 * resolution when every claim set is the same. Reusing returns the very same
 * objects, so targets can skip unchanged services by identity. It never
 * changes the result: `deriveModel` with a memo equals `deriveModel` without.
 */
export class ModelMemo {
  /** By name, updated in place: a fresh map of every service per build cost more than the rest of an unchanged build. */
  private services = new Map<string, ServiceDerivation>();
  /** Services kept by the build under way: fewer than `services` holds means some were removed. */
  private kept = 0;
  /** The services in name order while none is added or removed, and each one's derivation at the same index. */
  private order: { version: number; keys: ServiceKeys[]; derivations: ServiceDerivation[] } | undefined;
  private domain: string | undefined;
  /** Verdicts need no re-check while the health source's version is the one they were read at. */
  private healthVersion: number | 'none' | undefined;
  private healthUnchanged = false;
  private claims: { sets: Claim[][]; routes: string; resolved: ResolvedClaims } | undefined;
  private won: { hostRules: HostRule[]; map: Map<string, string[]> } | undefined;
  /** Services derived afresh by the last build (the rest were reused): for tests and logs. */
  derived: string[] = [];

  begin(options: Pick<ModelOptions, 'domain' | 'health' | 'healthVersion'>): void {
    // The automatic subdomain is part of every service's claims.
    if (options.domain !== this.domain) {
      this.services.clear();
      this.order = undefined;
    }
    this.domain = options.domain;
    const version = options.health ? options.healthVersion : 'none';
    this.healthUnchanged = version !== undefined && version === this.healthVersion;
    this.healthVersion = version;
    this.kept = 0;
    this.derived = [];
  }

  /**
   * The services' keys in name order: the last list again while no service was added or removed
   * (the store's groups are the same objects then), so a build looks nothing up by name.
   */
  sortedServices(keys: GroupedKeys): ServiceKeys[] {
    const version = keys.namesVersion;
    if (version !== undefined && this.order?.version === version) return this.order.keys;
    const sorted = sortedServiceKeys(keys);
    this.order = version === undefined ? undefined : { version, keys: sorted, derivations: [] };
    return sorted;
  }

  /**
   * The derivation of the service at `at` in sortedServices' list: the previous one while still
   * valid, else `derive(keys)`'s, kept for the next build.
   */
  service(
    keys: ServiceKeys,
    at: number,
    options: Pick<ModelOptions, 'health'>,
    pools: string,
    derive: (keys: ServiceKeys) => ServiceDerivation,
  ): ServiceDerivation {
    const aligned = this.order?.keys[at] === keys ? this.order.derivations : undefined;
    const last = aligned?.[at] ?? this.services.get(keys.name);
    this.kept += 1;
    if (last && this.stillValid(last, keys, options, pools)) {
      if (aligned) aligned[at] = last;
      return last;
    }
    const derivation = derive(keys);
    this.derived.push(keys.name);
    // An endpoint's address or weight changed, not its domains: keep the claims object, so claims need no new resolution.
    if (last && sameClaims(last.claims, derivation.claims)) derivation.claims = last.claims;
    this.services.set(keys.name, derivation);
    if (aligned) aligned[at] = derivation;
    return derivation;
  }

  private stillValid(last: ServiceDerivation, keys: ServiceKeys, options: Pick<ModelOptions, 'health'>, pools: string): boolean {
    if (keys.generation === 0 || last.generation !== keys.generation) return false;
    // A spec with `pools` read the hosts' pools, an input from outside its keys.
    if (last.pools !== undefined && last.pools !== pools) return false;
    if (this.healthUnchanged) return true;
    // The active health verdict is an input too (it comes from the checker, not the keyspace).
    const health = options.health;
    for (let i = 0; i < last.entries.length; i++) {
      if (health?.(last.entries[i]!.endpoint) !== last.verdicts[i]) return false;
    }
    return true;
  }

  /** Ends the services pass: services gone from the keyspace (`keys`) are forgotten. */
  end(keys: GroupedKeys): void {
    if (this.kept === this.services.size) return;
    for (const name of this.services.keys()) if (!keys.services.has(name)) this.services.delete(name);
  }

  /**
   * Service → the hosts it won: the last map again for the same host rules, when no route is
   * involved (a route's models are new each build and must be marked active by `derive`).
   */
  wonDomains(hostRules: HostRule[], routes: RouteModel[], derive: (rules: HostRule[], routes: RouteModel[]) => Map<string, string[]>): Map<string, string[]> {
    if (routes.length === 0 && this.won?.hostRules === hostRules) return this.won.map;
    const map = derive(hostRules, routes);
    this.won = routes.length === 0 ? { hostRules, map } : undefined;
    return map;
  }

  /** The last resolution, if every service's claims are the same objects and the routes' claims the same values. */
  /** `sets`: each service's claims in name order, then the routes' claims last. */
  resolved(sets: Claim[][]): ResolvedClaims | undefined {
    const last = this.claims;
    if (!last || last.sets.length !== sets.length) return undefined;
    for (let i = 0; i < sets.length - 1; i++) if (last.sets[i] !== sets[i]) return undefined;
    return last.routes === JSON.stringify(sets[sets.length - 1]) ? last.resolved : undefined;
  }

  keepResolved(sets: Claim[][], resolved: ResolvedClaims): void {
    if (this.claims?.resolved !== resolved) this.claims = { sets, routes: JSON.stringify(sets[sets.length - 1]), resolved };
  }
}

function sameClaims(a: Claim[], b: Claim[]): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => {
      const y = b[i]!;
      return (
        x.host === y.host &&
        x.path === y.path &&
        x.rank === y.rank &&
        x.createRevision === y.createRevision &&
        x.owner.kind === y.owner.kind &&
        x.owner.name === y.owner.name
      );
    })
  );
}
