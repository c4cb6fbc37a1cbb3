import { servingState } from '../model/serving.js';
import type { ModelIssue, ServiceModel } from '../model/types.js';
import type { TargetStatus } from '../target.js';

export type Severity = 'critical' | 'warning';

/** One thing an operator should look at (`/v1/status` `problems`, the dashboard, `fabric status`). */
export interface Problem {
  severity: Severity;
  code: string;
  message: string;
  /** What it is about: `etcd`, `targets/<name>`, `services/<name>`, an issue's subject. */
  subject?: string;
  /** Set on the last entry of a capped group: how many more of this code were left out. */
  more?: number;
}

export interface ProblemInput {
  etcd: { watch: string; error?: string | undefined };
  targets: readonly TargetStatus[];
  /** Absent before the first model build. */
  services?: readonly ServiceModel[];
  issues?: readonly ModelIssue[];
}

/** Per group (services without a ready endpoint, refused claims): this many, then a count of the rest. */
export const PROBLEM_CAP = 20;

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1 };

/**
 * Pure: the router's state → its problems, most severe first: etcd unreachable
 * and failing targets (critical), then services without a ready endpoint and
 * refused claims or containers (warning), each group capped.
 */
export function deriveProblems(input: ProblemInput): Problem[] {
  const problems: Problem[] = [];
  // A retry's `listing` keeps the last error: etcd is still down until a list succeeds.
  if (input.etcd.watch === 'disconnected' || (input.etcd.watch === 'listing' && input.etcd.error)) {
    problems.push({
      severity: 'critical',
      code: 'FABRIC_ERR_ETCD_UNAVAILABLE',
      subject: 'etcd',
      message: `etcd unreachable (watch ${input.etcd.watch}${input.etcd.error ? `: ${input.etcd.error}` : ''}); serving the last state, not following changes`,
    });
  }
  for (const target of input.targets) {
    if (!target.lastError) continue;
    problems.push({
      severity: 'critical',
      code: target.lastError.code,
      subject: `targets/${target.name}`,
      message: `target ${target.name} (${target.kind}): last apply failed at revision ${target.lastError.revision}: ${target.lastError.message}`,
    });
  }
  const down = (input.services ?? []).filter((s) => !s.endpoints.some((e) => servingState(e) === 'ready'));
  problems.push(
    ...capped(
      down.map((s) => ({
        severity: 'warning' as const,
        code: 'FABRIC_ERR_NO_READY_ENDPOINT',
        subject: `services/${s.name}`,
        message: s.endpoints.length === 0 ? `service ${s.name}: no endpoints` : `service ${s.name}: none of its ${s.endpoints.length} endpoints is ready`,
      })),
      (n) => `${n} more services without a ready endpoint`,
    ),
  );
  const refused = input.issues ?? [];
  problems.push(
    ...capped(
      refused.map((i) => ({ severity: 'warning' as const, code: i.code, subject: i.subject, message: `${i.subject}: ${i.message}` })),
      (n) => `${n} more refused claims, containers or keys (see issues)`,
    ),
  );
  // Stable: within a severity, the order above (etcd, targets, services, issues) stays.
  return problems.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
}

/** The first PROBLEM_CAP, then one entry counting the rest. */
function capped(problems: Problem[], rest: (n: number) => string): Problem[] {
  if (problems.length <= PROBLEM_CAP) return problems;
  const more = problems.length - PROBLEM_CAP;
  const last = problems[PROBLEM_CAP]!;
  return [...problems.slice(0, PROBLEM_CAP), { severity: last.severity, code: last.code, message: rest(more), more }];
}
