import type { HostRule, ModelIssue } from './model/types.js';

/** Spec claims (Services and Routes) outrank the automatic subdomain, which outranks container labels. */
export type ClaimRank = 'spec' | 'auto' | 'label';
const RANK: Record<ClaimRank, number> = { spec: 0, auto: 1, label: 2 };

/** Who claims: a service, or a route (which sends traffic to `services`). */
export interface ClaimOwner {
  kind: 'service' | 'route';
  name: string;
  services: string[];
}

export interface Claim {
  host: string;
  path: string | undefined;
  owner: ClaimOwner;
  rank: ClaimRank;
  createRevision: number;
}

/**
 * Domain ownership. Each host+path goes to one owner: best rank, then the
 * oldest claim (etcd create revision), then routes before services, then by
 * name. Two more rules:
 * - A host claimed by a spec belongs to its spec owners (and the services
 *   their routes send to): any label or automatic claim of another service on
 *   that host, whatever its path, is refused.
 * - A route that sends traffic to a service claiming the same host+path takes
 *   that service's place (and its age): that is refinement, not conflict.
 * Every refused claim is reported, naming both sides.
 */
export function resolveClaims(claims: Claim[], issues: ModelIssue[]): HostRule[] {
  const refuse = (target: string, winner: ClaimOwner, loser: ClaimOwner) => {
    const issue: ModelIssue = {
      code: 'FABRIC_ERR_CONFLICT',
      subject: `${loser.kind === 'route' ? 'routes' : 'services'}/${loser.name}`,
      message: `${target} is already claimed by ${winner.kind} ${winner.name}; claim by ${loser.kind === 'route' ? `route ${loser.name}` : loser.name} refused`,
    };
    if (!issues.some((i) => i.subject === issue.subject && i.message === issue.message)) issues.push(issue);
  };

  const specOwned = new Map<string, Claim[]>();
  for (const claim of claims) if (claim.rank === 'spec') specOwned.set(claim.host, [...(specOwned.get(claim.host) ?? []), claim]);
  const admitted = claims.filter((claim) => {
    const owners = specOwned.get(claim.host);
    if (claim.rank === 'spec' || !owners || owners.some((o) => o.owner.services.includes(claim.owner.name))) return true;
    const oldest = [...owners].sort(byAge)[0]!;
    refuse(`${claim.host}${claim.path ?? ''}`, oldest.owner, claim.owner);
    return false;
  });

  const byTarget = new Map<string, Claim[]>();
  for (const claim of admitted) {
    const target = `${claim.host}${claim.path ?? ''}`;
    byTarget.set(target, [...(byTarget.get(target) ?? []), claim]);
  }
  const rules: HostRule[] = [];
  for (const [target, contenders] of [...byTarget].sort(([a], [b]) => a.localeCompare(b))) {
    const effective = contenders.map((claim) => inheritAge(claim, contenders));
    effective.sort((a, b) => RANK[a.rank] - RANK[b.rank] || byAge(a, b));
    const winner = effective[0]!;
    const owner = winner.owner;
    rules.push({
      host: winner.host,
      path: winner.path,
      service: owner.kind === 'route' ? owner.services[0]! : owner.name,
      ...(owner.kind === 'route' ? { route: owner.name } : {}),
    });
    for (const loser of effective.slice(1)) {
      const same = loser.owner.kind === owner.kind && loser.owner.name === owner.name;
      const delegated = owner.kind === 'route' && loser.owner.kind === 'service' && owner.services.includes(loser.owner.name);
      if (!same && !delegated) refuse(target, owner, loser.owner);
    }
  }
  return rules;
}

function byAge(a: Claim, b: Claim): number {
  return (
    a.createRevision - b.createRevision || (a.owner.kind === b.owner.kind ? 0 : a.owner.kind === 'route' ? -1 : 1) || a.owner.name.localeCompare(b.owner.name)
  );
}

/** A route takes the rank and age of the best claim, on the same target, of a service it sends traffic to. */
function inheritAge(claim: Claim, contenders: Claim[]): Claim {
  if (claim.owner.kind !== 'route') return claim;
  let best = claim;
  for (const other of contenders) {
    if (other.owner.kind !== 'service' || !claim.owner.services.includes(other.owner.name)) continue;
    if (RANK[other.rank] < RANK[best.rank] || (other.rank === best.rank && other.createRevision < best.createRevision)) {
      best = { ...claim, rank: other.rank, createRevision: other.createRevision };
    }
  }
  return best;
}
