import type { Claim } from './claims.js';
import type { ResolvedClaims, ServiceDerivation } from './model/derivation.js';
import type { ModelOptions } from './model/options.js';
import type { HostRule } from './model/types.js';
import type { RouteModel } from './routes/model.js';
import type { GroupedKeys, ServiceKeys } from './store.js';

/**
 * What `deriveModel` may reuse from the previous build, owned by the router
 * (one per store). A service is reused when its keys have the same store
 * generation and every endpoint's health verdict is the same; the claim
 * resolution when every claim set is the same. Reusing returns the very same
 * objects, so targets can skip unchanged services by identity. It never
 * changes the result: `deriveModel` with a memo equals `deriveModel` without.
 */
export class ModelMemo {
  private services = new Map<string, ServiceDerivation>();
  private next = new Map<string, ServiceDerivation>();
  private domain: string | undefined;
  /** Verdicts need no re-check while the health source's version is the one they were read at. */
  private healthVersion: number | 'none' | undefined;
  private healthUnchanged = false;
  private claims: { sets: Claim[][]; routes: string; resolved: ResolvedClaims } | undefined;
  private names: { version: number; sorted: string[] } | undefined;
  private won: { hostRules: HostRule[]; map: Map<string, string[]> } | undefined;
  /** Services derived afresh by the last build (the rest were reused): for tests and logs. */
  derived: string[] = [];

  begin(options: Pick<ModelOptions, 'domain' | 'health' | 'healthVersion'>): void {
    // The automatic subdomain is part of every service's claims.
    if (options.domain !== this.domain) this.services.clear();
    this.domain = options.domain;
    const version = options.health ? options.healthVersion : 'none';
    this.healthUnchanged = version !== undefined && version === this.healthVersion;
    this.healthVersion = version;
    this.next = new Map();
    this.derived = [];
  }

  /** The service names in order: the last list again while no service was added or removed. */
  sortedNames(keys: GroupedKeys): string[] {
    const version = keys.namesVersion;
    if (version !== undefined && this.names?.version === version) return this.names.sorted;
    const sorted = [...keys.services.keys()].sort();
    this.names = version === undefined ? undefined : { version, sorted };
    return sorted;
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

  /** The previous derivation of this service, if still valid. */
  reuse(keys: ServiceKeys, options: Pick<ModelOptions, 'health'>, pools = ''): ServiceDerivation | undefined {
    const last = this.services.get(keys.name);
    if (!last || keys.generation === 0 || last.generation !== keys.generation) return undefined;
    // A spec with `pools` read the hosts' pools, an input from outside its keys.
    if (last.pools !== undefined && last.pools !== pools) return undefined;
    if (this.healthUnchanged) return last;
    // The active health verdict is an input too (it comes from the checker, not the keyspace).
    const health = options.health;
    for (let i = 0; i < last.entries.length; i++) {
      if (health?.(last.entries[i]!.endpoint) !== last.verdicts[i]) return undefined;
    }
    return last;
  }

  keep(derivation: ServiceDerivation): void {
    const last = this.services.get(derivation.base.name);
    if (last !== derivation) {
      this.derived.push(derivation.base.name);
      // An endpoint's address or weight changed, not its domains: keep the claims object, so claims need no new resolution.
      if (last && sameClaims(last.claims, derivation.claims)) derivation.claims = last.claims;
    }
    this.next.set(derivation.base.name, derivation);
  }

  /** Ends the services pass: services gone from the keyspace are forgotten. */
  end(): void {
    this.services = this.next;
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
